"""Ready dashboards for the Prometheus source, as data: each panel is what a `[[sources.<name>.panels]]`
table would say, and goes through the same checks (common/prometheus_panels.read_panel).

`$sel` in a query is replaced by the source's `selector` option (label matchers such as
`instance="pc:9100"`, empty by default), so a preset can show one machine of many. Every query
aggregates to one series (sum/avg/max): without a selector, several machines add up.

Rate windows are 1m, four times a 15 s scrape interval, except tftstream's (its stages are scraped
every 5 s: monitoring/prometheus.yml).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

Panel = MappingProxyType[str, Any]


def _panels(*panels: dict[str, Any]) -> tuple[Panel, ...]:
    return tuple(MappingProxyType(p) for p in panels)


# Linux, prometheus-node-exporter 1.x (Debian's package is 1.5).
NODE_EXPORTER = _panels(
    {
        "title": "CPU",
        "query": '100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle",$sel}[1m])))',
        "unit": "percent",
        "colour": "green",
    },
    {
        "title": "Memory",
        "query": "sum(node_memory_MemTotal_bytes{$sel} - node_memory_MemAvailable_bytes{$sel})",
        "query2": "sum(node_memory_MemTotal_bytes{$sel})",
        "pair": "total",
        "unit": "bytes",
        "colour": "purple",
    },
    {
        "title": "Disk",
        "query": "sum(rate(node_disk_read_bytes_total{$sel}[1m]))",
        "query2": "sum(rate(node_disk_written_bytes_total{$sel}[1m]))",
        "labels": ["rd", "wr"],
        "unit": "bytes_per_s",
        "colour": "cyan",
        "colour2": "orange",
    },
    {
        "title": "Network",
        "query": 'sum(rate(node_network_receive_bytes_total{device!~"lo|veth.*|docker.*|br-.*|virbr.*",$sel}[1m]))',
        "query2": 'sum(rate(node_network_transmit_bytes_total{device!~"lo|veth.*|docker.*|br-.*|virbr.*",$sel}[1m]))',
        "labels": ["rx", "tx"],
        "unit": "bytes_per_s",
        "colour": "teal",
        "colour2": "magenta",
    },
    {
        "title": "Load / cores",
        "query": "sum(node_load1{$sel})",
        "query2": 'count(node_cpu_seconds_total{mode="idle",$sel})',
        "pair": "total",
        "unit": "count",
        "colour": "amber",
    },
    {
        "title": "Root FS used",
        "query": '100 * max(1 - node_filesystem_avail_bytes{mountpoint="/",$sel}'
        ' / node_filesystem_size_bytes{mountpoint="/",$sel})',
        "unit": "percent",
        "colour": "blue",
    },
)

# Windows, windows_exporter: the memory collector's names (v0.30+), falling back to the older cs collector's.
WINDOWS_EXPORTER = _panels(
    {
        "title": "CPU",
        "query": '100 * (1 - avg(rate(windows_cpu_time_total{mode="idle",$sel}[1m])))',
        "unit": "percent",
        "colour": "green",
    },
    {
        "title": "Memory",
        "query": "sum((windows_memory_physical_total_bytes{$sel} or windows_cs_physical_memory_bytes{$sel})"
        " - windows_memory_available_bytes{$sel})",
        "query2": "sum(windows_memory_physical_total_bytes{$sel} or windows_cs_physical_memory_bytes{$sel})",
        "pair": "total",
        "unit": "bytes",
        "colour": "purple",
    },
    {
        "title": "Disk",
        "query": 'sum(rate(windows_logical_disk_read_bytes_total{volume!~"HarddiskVolume.*",$sel}[1m]))',
        "query2": 'sum(rate(windows_logical_disk_write_bytes_total{volume!~"HarddiskVolume.*",$sel}[1m]))',
        "labels": ["rd", "wr"],
        "unit": "bytes_per_s",
        "colour": "cyan",
        "colour2": "orange",
    },
    {
        "title": "Network",
        "query": "sum(rate(windows_net_bytes_received_total{$sel}[1m]))",
        "query2": "sum(rate(windows_net_bytes_sent_total{$sel}[1m]))",
        "labels": ["rx", "tx"],
        "unit": "bytes_per_s",
        "colour": "teal",
        "colour2": "magenta",
    },
    {
        # Windows has no load average; the processor queue is the closest: threads ready but waiting.
        "title": "CPU queue / cores",
        "query": "sum(windows_system_processor_queue_length{$sel})",
        "query2": 'count(windows_cpu_time_total{mode="idle",$sel})',
        "pair": "total",
        "unit": "count",
        "colour": "amber",
    },
    {
        "title": "C: used",
        "query": '100 * max(1 - windows_logical_disk_free_bytes{volume="C:",$sel}'
        ' / windows_logical_disk_size_bytes{volume="C:",$sel})',
        "unit": "percent",
        "colour": "blue",
    },
)

# NVIDIA GPUs: utkuozdemir/nvidia_gpu_exporter's names (nvidia_smi_*, for desktops, Windows or Linux);
# each query falls back with `or` to NVIDIA dcgm-exporter's default counters (DCGM_FI_DEV_*), so either works.
NVIDIA_GPU = _panels(
    {
        "title": "GPU",
        "query": "100 * avg(nvidia_smi_utilization_gpu_ratio{$sel}) or avg(DCGM_FI_DEV_GPU_UTIL{$sel})",
        "unit": "percent",
        "colour": "green",
    },
    {
        "title": "VRAM",
        "query": "sum(nvidia_smi_memory_used_bytes{$sel}) or 1048576 * sum(DCGM_FI_DEV_FB_USED{$sel})",
        "query2": "sum(nvidia_smi_memory_total_bytes{$sel})"
        " or 1048576 * sum(DCGM_FI_DEV_FB_USED{$sel} + DCGM_FI_DEV_FB_FREE{$sel})",
        "pair": "total",
        "unit": "bytes",
        "colour": "purple",
    },
    {
        "title": "Temperature",
        "query": "max(nvidia_smi_temperature_gpu{$sel}) or max(DCGM_FI_DEV_GPU_TEMP{$sel})",
        "unit": "celsius",
        "min": 20,
        "max": 100,
        "colour": "orange",
    },
    {
        "title": "Power",
        "query": "sum(nvidia_smi_power_draw_watts{$sel}) or sum(DCGM_FI_DEV_POWER_USAGE{$sel})",
        "unit": "watts",
        "colour": "amber",
    },
    {
        "title": "Clock",
        "query": "max(nvidia_smi_clocks_current_graphics_clock_hz{$sel}) or 1e6 * max(DCGM_FI_DEV_SM_CLOCK{$sel})",
        "unit": "hertz",
        "colour": "cyan",
    },
    {
        "title": "Memory bus",
        "query": "100 * avg(nvidia_smi_utilization_memory_ratio{$sel}) or avg(DCGM_FI_DEV_MEM_COPY_UTIL{$sel})",
        "unit": "percent",
        "colour": "blue",
    },
)

# The pipeline itself (monitoring/prometheus.yml scrapes every stage): what the boards get and how late.
TFTSTREAM = _panels(
    {
        "title": "Frames sent",
        "query": "sum(rate(tftstream_serve_boards_frames_sent_total{$sel}[30s]))",
        "unit": "fps",
        "colour": "green",
    },
    {
        "title": "Latency p95",
        "query": "histogram_quantile(0.95,"
        " sum by (le) (rate(tftstream_serve_boards_latency_seconds_bucket{$sel}[30s])))",
        "unit": "seconds",
        "colour": "orange",
    },
    {
        "title": "Sent",
        "query": "sum(rate(tftstream_serve_boards_bytes_sent_total{$sel}[30s]))",
        "unit": "bytes_per_s",
        "colour": "cyan",
    },
    {
        "title": "Boards",
        "query": "sum(tftstream_serve_boards_boards_connected{$sel})",
        "unit": "count",
        "colour": "teal",
    },
    {
        "title": "Encode p95",
        "query": "histogram_quantile(0.95,"
        " sum by (le) (rate(tftstream_encode_damage_process_seconds_bucket{$sel}[30s])))",
        "unit": "seconds",
        "colour": "magenta",
    },
    {
        "title": "Stages up",
        "query": 'sum(up{job=~"tftstream_.+",$sel})',
        "query2": 'count(up{job=~"tftstream_.+",$sel})',
        "pair": "total",
        "unit": "count",
        "colour": "blue",
    },
)

PRESETS: dict[str, tuple[Panel, ...]] = {
    "node_exporter": NODE_EXPORTER,
    "windows_exporter": WINDOWS_EXPORTER,
    "nvidia_gpu": NVIDIA_GPU,
    "tftstream": TFTSTREAM,
}
