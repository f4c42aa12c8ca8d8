/*
 * Linked into better_sqlite3.node. Before glibc 2.33, stat() and friends were not exported by libc:
 * the headers turned them into calls of __xstat(_STAT_VER, ...). zig 0.11, targeting glibc 2.28,
 * replaces them with inline syscalls that set a private copy of errno inside the module, so SQLite
 * (which reads the real errno) took a missing file for an I/O error: "unable to open database file".
 * These definitions win over zig's weak ones and call glibc's own __xstat family, which sets the real
 * errno and exists in every glibc from 2.2.5 (x86_64) / 2.17 (aarch64) on.
 */
#if defined(__x86_64__)
#define STAT_VER 1 /* _STAT_VER_LINUX */
#else
#define STAT_VER 0 /* _STAT_VER of the generic (aarch64) ABI */
#endif

struct stat;
extern int __xstat(int, const char *, struct stat *);
extern int __lxstat(int, const char *, struct stat *);
extern int __fxstat(int, int, struct stat *);
extern int __fxstatat(int, int, const char *, struct stat *, int);

int stat(const char *path, struct stat *buf) { return __xstat(STAT_VER, path, buf); }
int stat64(const char *path, struct stat *buf) { return __xstat(STAT_VER, path, buf); }
int lstat(const char *path, struct stat *buf) { return __lxstat(STAT_VER, path, buf); }
int lstat64(const char *path, struct stat *buf) { return __lxstat(STAT_VER, path, buf); }
int fstat(int fd, struct stat *buf) { return __fxstat(STAT_VER, fd, buf); }
int fstat64(int fd, struct stat *buf) { return __fxstat(STAT_VER, fd, buf); }
int fstatat(int dirfd, const char *path, struct stat *buf, int flags) { return __fxstatat(STAT_VER, dirfd, path, buf, flags); }
int fstatat64(int dirfd, const char *path, struct stat *buf, int flags) { return __fxstatat(STAT_VER, dirfd, path, buf, flags); }
