/* The Node-API floor: what any addon reaches from JavaScript on this machine,
 * measured beside ksock in the same run (bench/floor.js drives it). A
 * measuring instrument, not a design: numeric descriptors, no checks, no
 * objects, one static buffer, handles that live as long as the process.
 *   sock()                    -> a nonblocking UDP socket bound to 127.0.0.1:0 (4 MiB receive buffer)
 *   port(fd)                  -> its port
 *   connect(fd, port)         -> 0 or -errno (127.0.0.1:port)
 *   send(fd, buf)             -> bytes or -errno (send, MSG_DONTWAIT)
 *   sendto(fd, buf, port)     -> bytes or -errno (to 127.0.0.1:port)
 *   reply(fd, buf)            -> bytes or -errno (to the source of the last datagram watch() read)
 *   recv(fd, buf)             -> bytes or -errno (recv, MSG_DONTWAIT)
 *   watch(fd, buf, cb)        -> a uv_poll_t on fd: each readable wakeup reads one datagram into
 *                                buf natively, then calls cb(n) once (napi_make_callback)
 * Built by bench/run.mjs: cc -O2 -shared -fPIC -I<node's include/node> -o floor.node floor.c
 */
#define NAPI_VERSION 8
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

static struct sockaddr_in last; /* the source of the last datagram watch() read */

static int32_t i32(napi_env env, napi_value v) {
  int32_t x = 0;
  napi_get_value_int32(env, v, &x);
  return x;
}
static napi_value num(napi_env env, ssize_t x) {
  napi_value r;
  napi_create_int32(env, x < 0 ? -errno : (int32_t)x, &r);
  return r;
}
static struct sockaddr_in lo(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((uint16_t)port);
  return a;
}
#define ARGS(n)                    \
  size_t argc = n;                 \
  napi_value argv[n];              \
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL)

static napi_value Sock(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int big = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  struct sockaddr_in a = lo(0);
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) < 0) return num(env, -1);
  return num(env, fd);
}
static napi_value Port(napi_env env, napi_callback_info info) {
  ARGS(1);
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  if (getsockname(i32(env, argv[0]), (struct sockaddr *)&a, &len) < 0) return num(env, -1);
  return num(env, ntohs(a.sin_port));
}
static napi_value Connect(napi_env env, napi_callback_info info) {
  ARGS(2);
  struct sockaddr_in a = lo(i32(env, argv[1]));
  return num(env, connect(i32(env, argv[0]), (struct sockaddr *)&a, sizeof a));
}
/* buf's bytes to `to` (NULL: the connected peer); argv[1] is the Buffer */
static napi_value SendBuf(napi_env env, napi_value *argv, const struct sockaddr_in *to) {
  void *data;
  size_t len;
  napi_get_buffer_info(env, argv[1], &data, &len);
  return num(env, sendto(i32(env, argv[0]), data, len, MSG_DONTWAIT, (const struct sockaddr *)to, to ? sizeof *to : 0));
}
static napi_value Send(napi_env env, napi_callback_info info) {
  ARGS(2);
  return SendBuf(env, argv, NULL);
}
static napi_value Sendto(napi_env env, napi_callback_info info) {
  ARGS(3);
  struct sockaddr_in a = lo(i32(env, argv[2]));
  return SendBuf(env, argv, &a);
}
static napi_value Reply(napi_env env, napi_callback_info info) {
  ARGS(2);
  return SendBuf(env, argv, &last);
}
static napi_value Recv(napi_env env, napi_callback_info info) {
  ARGS(2);
  void *data;
  size_t len;
  napi_get_buffer_info(env, argv[1], &data, &len);
  return num(env, recv(i32(env, argv[0]), data, len, MSG_DONTWAIT));
}

typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref cb, buf;
  void *data;
  size_t len;
  int fd;
} Watch;
static void on_poll(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  Watch *w = (Watch *)h->data;
  socklen_t alen = sizeof last;
  ssize_t n = recvfrom(w->fd, w->data, w->len, MSG_DONTWAIT, (struct sockaddr *)&last, &alen);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  napi_handle_scope scope;
  napi_open_handle_scope(w->env, &scope);
  napi_value cb, recv, arg = num(w->env, n), result;
  napi_get_reference_value(w->env, w->cb, &cb);
  napi_get_global(w->env, &recv);
  napi_make_callback(w->env, NULL, recv, cb, 1, &arg, &result);
  napi_close_handle_scope(w->env, scope);
}
static napi_value WatchFd(napi_env env, napi_callback_info info) {
  ARGS(3);
  Watch *w = calloc(1, sizeof *w);
  uv_loop_t *loop;
  if (w == NULL || napi_get_uv_event_loop(env, &loop) != napi_ok) return num(env, -1);
  w->env = env;
  w->fd = i32(env, argv[0]);
  napi_get_buffer_info(env, argv[1], &w->data, &w->len);
  napi_create_reference(env, argv[1], 1, &w->buf);
  napi_create_reference(env, argv[2], 1, &w->cb);
  uv_poll_init(loop, &w->poll, w->fd);
  w->poll.data = w;
  return num(env, uv_poll_start(&w->poll, UV_READABLE, on_poll));
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
      {"sock", 0, Sock, 0, 0, 0, napi_default, 0},       {"port", 0, Port, 0, 0, 0, napi_default, 0},
      {"connect", 0, Connect, 0, 0, 0, napi_default, 0}, {"send", 0, Send, 0, 0, 0, napi_default, 0},
      {"sendto", 0, Sendto, 0, 0, 0, napi_default, 0},   {"reply", 0, Reply, 0, 0, 0, napi_default, 0},
      {"recv", 0, Recv, 0, 0, 0, napi_default, 0},       {"watch", 0, WatchFd, 0, 0, 0, napi_default, 0},
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  return exports;
}
NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
