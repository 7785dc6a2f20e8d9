// Control-message (cmsg) codec.
//
// Send: items { level, type, data?: Buffer, fds?: number[] } are laid out in
// a zeroed, over-aligned buffer with the platform's CMSG_SPACE/CMSG_LEN per
// item (odd payload sizes included). All descriptors of one send travel in a
// single SCM_RIGHTS item (several items lose descriptors on some BSDs).
//
// Receive: parsing is bounded by msg_controllen, every cmsg_len is clamped to
// what remains (macOS reports untruncated lengths), and SCM_RIGHTS payloads
// are rounded down to whole descriptors. Descriptors that arrived are made
// close-on-exec (where MSG_CMSG_CLOEXEC is missing) and are always returned,
// even when MSG_CTRUNC is set.
#include "ksock.h"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace ksock {

ControlBuffer::~ControlBuffer() {
  if (data != nullptr && data != inline_buf) free(data);
}

bool ControlBuffer::Reserve(size_t n) {
  if (n <= sizeof(inline_buf)) {
    data = inline_buf;
    cap = sizeof(inline_buf);
  } else {
    // malloc's alignment suits any cmsghdr.
    void* p = malloc(n);
    if (p == nullptr) return false;
    if (data != nullptr && data != inline_buf) free(data);
    data = p;
    cap = n;
  }
  memset(data, 0, n);
  return true;
}

namespace {

struct Item {
  int level;
  int type;
  const uint8_t* data;
  size_t len;
};

bool ReadInt(Napi::Env env, Napi::Object o, const char* key, int* out) {
  Napi::Value v = o.Get(key);
  if (env.IsExceptionPending()) return false;
  if (!v.IsNumber()) {
    std::string m = std::string("control item ") + key + " must be a number";
    Napi::TypeError::New(env, m).ThrowAsJavaScriptException();
    return false;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= INT32_MIN && d <= INT32_MAX) || d != static_cast<double>(static_cast<int>(d))) {
    std::string m = std::string("control item ") + key + " is out of range";
    Napi::RangeError::New(env, m).ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<int>(d);
  return true;
}

}  // namespace

long EncodeControl(Napi::Env env, Napi::Value value, ControlBuffer* out) {
  if (value.IsUndefined() || value.IsNull()) return 0;
  if (!value.IsArray()) {
    Napi::TypeError::New(env, "control must be an array of { level, type, data } items")
        .ThrowAsJavaScriptException();
    return -1;
  }
  Napi::Array arr = value.As<Napi::Array>();
  uint32_t n = arr.Length();
  std::vector<Item> items;
  std::vector<int> fds;
  items.reserve(n);
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value e = arr.Get(i);
    if (env.IsExceptionPending()) return -1;
    if (!e.IsObject()) {
      Napi::TypeError::New(env, "control item must be an object").ThrowAsJavaScriptException();
      return -1;
    }
    Napi::Object o = e.As<Napi::Object>();
    Item it{};
    if (!ReadInt(env, o, "level", &it.level) || !ReadInt(env, o, "type", &it.type)) return -1;
    Napi::Value f = o.Get("fds");
    if (env.IsExceptionPending()) return -1;
    if (it.level == SOL_SOCKET && it.type == SCM_RIGHTS && f.IsArray()) {
      Napi::Array fa = f.As<Napi::Array>();
      for (uint32_t k = 0; k < fa.Length(); k++) {
        Napi::Value fv = fa.Get(k);
        if (!fv.IsNumber()) {
          Napi::TypeError::New(env, "control item fds must be numbers").ThrowAsJavaScriptException();
          return -1;
        }
        double d = fv.As<Napi::Number>().DoubleValue();
        if (!(d >= 0 && d <= INT32_MAX) || d != static_cast<double>(static_cast<int>(d))) {
          Napi::RangeError::New(env, "control item fds must be descriptor numbers")
              .ThrowAsJavaScriptException();
          return -1;
        }
        fds.push_back(static_cast<int>(d));
      }
      continue;  // merged into one SCM_RIGHTS item below
    }
    Napi::Value d = o.Get("data");
    if (env.IsExceptionPending()) return -1;
    if (d.IsUndefined() || d.IsNull()) {
      it.data = nullptr;
      it.len = 0;
    } else if (d.IsBuffer()) {
      auto b = d.As<Napi::Buffer<uint8_t>>();
      it.data = b.Data();
      it.len = b.Length();
    } else {
      Napi::TypeError::New(env, "control item data must be a Buffer").ThrowAsJavaScriptException();
      return -1;
    }
    items.push_back(it);
  }
  const size_t kMax = 1 << 20;
  size_t total = 0;
  if (!fds.empty()) total += CMSG_SPACE(fds.size() * sizeof(int));
  for (const Item& it : items) {
    if (it.len > kMax) {
      Napi::RangeError::New(env, "control item data is too large").ThrowAsJavaScriptException();
      return -1;
    }
    total += CMSG_SPACE(it.len);
  }
  if (total > kMax) {
    Napi::RangeError::New(env, "control data is too large").ThrowAsJavaScriptException();
    return -1;
  }
  if (total == 0) return 0;
  if (!out->Reserve(total)) {
    Napi::Error::New(env, "out of memory building control data").ThrowAsJavaScriptException();
    return -1;
  }
  // Walk with CMSG_FIRSTHDR/CMSG_NXTHDR over the final length, filling each
  // header before stepping (NXTHDR reads the current cmsg_len).
  msghdr m{};
  m.msg_control = out->data;
  m.msg_controllen = total;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  if (!fds.empty() && c != nullptr) {
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
    memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
    c = CMSG_NXTHDR(&m, c);
  }
  for (const Item& it : items) {
    if (c == nullptr) break;  // cannot happen: total was sized for every item
    c->cmsg_level = it.level;
    c->cmsg_type = it.type;
    c->cmsg_len = CMSG_LEN(it.len);
    if (it.len > 0) memcpy(CMSG_DATA(c), it.data, it.len);
    c = CMSG_NXTHDR(&m, c);
  }
  out->len = total;
  return static_cast<long>(total);
}

namespace {

// Visits each complete item of a received control buffer, bounded by
// msg_controllen with cmsg_len clamped to what remains.
template <typename F>
void ForEachCmsg(const msghdr* msg, F&& f) {
  if (msg->msg_control == nullptr) return;
  const auto* base = static_cast<const unsigned char*>(msg->msg_control);
  size_t total = static_cast<size_t>(msg->msg_controllen);
  size_t off = 0;
  const size_t hdr = CMSG_LEN(0);
  while (off + hdr <= total) {
    const auto* c = reinterpret_cast<const cmsghdr*>(base + off);
    size_t clen = static_cast<size_t>(c->cmsg_len);
    if (clen < hdr) break;
    if (clen > total - off) clen = total - off;
    const unsigned char* data = CMSG_DATA(c);
    size_t dlen = clen - hdr;
    f(c, data, dlen);
    size_t step = CMSG_SPACE(dlen);
    if (step == 0 || step > total - off) break;
    off += step;
  }
}

}  // namespace

void DisposeRights(const msghdr* msg) {
  ForEachCmsg(msg, [](const cmsghdr* c, const unsigned char* data, size_t dlen) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) return;
    for (size_t i = 0; i + sizeof(int) <= dlen; i += sizeof(int)) {
      int fd;
      memcpy(&fd, data + i, sizeof(int));
      if (fd >= 0) close(fd);
    }
  });
}

Napi::Value DecodeControl(Napi::Env env, const msghdr* msg) {
  // Make every received descriptor close-on-exec first, whatever happens next.
#ifndef MSG_CMSG_CLOEXEC
  ForEachCmsg(msg, [](const cmsghdr* c, const unsigned char* data, size_t dlen) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) return;
    for (size_t i = 0; i + sizeof(int) <= dlen; i += sizeof(int)) {
      int fd;
      memcpy(&fd, data + i, sizeof(int));
      if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
  });
#endif
  Napi::Array arr = Napi::Array::New(env);
  uint32_t i = 0;
  bool failed = false;
  ForEachCmsg(msg, [&](const cmsghdr* c, const unsigned char* data, size_t dlen) {
    if (failed) return;
    Napi::Object o = Napi::Object::New(env);
    o.Set("level", Napi::Number::New(env, c->cmsg_level));
    o.Set("type", Napi::Number::New(env, c->cmsg_type));
    o.Set("data", Napi::Buffer<uint8_t>::Copy(env, data, dlen));
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      Napi::Array fds = Napi::Array::New(env);
      uint32_t k = 0;
      for (size_t off = 0; off + sizeof(int) <= dlen; off += sizeof(int)) {
        int fd;
        memcpy(&fd, data + off, sizeof(int));
        fds.Set(k++, Napi::Number::New(env, fd));
      }
      o.Set("fds", fds);
    }
    if (env.IsExceptionPending()) {
      failed = true;
      return;
    }
    arr.Set(i++, o);
  });
  if (failed || env.IsExceptionPending()) {
    DisposeRights(msg);
    return Napi::Value();
  }
  return arr;
}

}  // namespace ksock
