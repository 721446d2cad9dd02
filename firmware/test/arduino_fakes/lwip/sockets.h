// Fake of ESP-IDF's lwip/sockets.h: send()/recv() map to lwip_send()/lwip_recv(), which set errno.
#pragma once
#include <errno.h>
#include <stddef.h>
#include <sys/types.h>

#define MSG_PEEK 0x01
#define MSG_DONTWAIT 0x08

ssize_t lwip_send(int s, const void* dataptr, size_t size, int flags);
ssize_t lwip_recv(int s, void* mem, size_t len, int flags);
static inline ssize_t send(int s, const void* dataptr, size_t size, int flags) { return lwip_send(s, dataptr, size, flags); }
static inline ssize_t recv(int s, void* mem, size_t len, int flags) { return lwip_recv(s, mem, len, flags); }
