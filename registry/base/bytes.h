#pragma once

// Big-endian byte encoding helpers shared by the store's key/record formats and the Handle wire
// format. ByteWriter appends to a std::string; ByteReader reads from a span and never reads past
// its end: every Read* returns false instead, leaving the reader in a failed state.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace idnode {

class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) : out_(out) {}

  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U16(uint16_t v) {
    U8(static_cast<uint8_t>(v >> 8));
    U8(static_cast<uint8_t>(v));
  }
  void U32(uint32_t v) {
    char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                 static_cast<char>(v)};
    out_.append(b, 4);
  }
  void U64(uint64_t v) {
    U32(static_cast<uint32_t>(v >> 32));
    U32(static_cast<uint32_t>(v));
  }
  void Raw(std::string_view bytes) { out_.append(bytes); }
  // u32 length followed by the bytes (Handle protocol strings and byte arrays).
  void Bytes32(std::string_view bytes) {
    U32(static_cast<uint32_t>(bytes.size()));
    Raw(bytes);
  }
  // u16 length followed by the bytes (store records; callers keep strings under 64 KiB).
  void Bytes16(std::string_view bytes) {
    U16(static_cast<uint16_t>(bytes.size()));
    Raw(bytes);
  }
  // Overwrites a u32 previously written at `offset` (for counts known only at the end).
  void PatchU32(size_t offset, uint32_t v) {
    out_[offset] = static_cast<char>(v >> 24);
    out_[offset + 1] = static_cast<char>(v >> 16);
    out_[offset + 2] = static_cast<char>(v >> 8);
    out_[offset + 3] = static_cast<char>(v);
  }
  size_t size() const { return out_.size(); }

 private:
  std::string& out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  bool U8(uint8_t& v) {
    if (!Need(1)) return false;
    v = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool U16(uint16_t& v) {
    if (!Need(2)) return false;
    v = static_cast<uint16_t>((Byte(0) << 8) | Byte(1));
    pos_ += 2;
    return true;
  }
  bool U32(uint32_t& v) {
    if (!Need(4)) return false;
    v = (uint32_t{Byte(0)} << 24) | (uint32_t{Byte(1)} << 16) | (uint32_t{Byte(2)} << 8) |
        uint32_t{Byte(3)};
    pos_ += 4;
    return true;
  }
  bool U64(uint64_t& v) {
    uint32_t hi = 0, lo = 0;
    if (!U32(hi) || !U32(lo)) return false;
    v = (uint64_t{hi} << 32) | lo;
    return true;
  }
  bool Raw(size_t n, std::string_view& out) {
    if (!Need(n)) return false;
    out = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  // Reads a u32-length-prefixed byte string, refusing lengths above `max_len`.
  bool Bytes32(std::string_view& out, uint32_t max_len) {
    uint32_t n = 0;
    if (!U32(n)) return false;
    if (n > max_len) return Fail();
    return Raw(n, out);
  }
  bool Bytes16(std::string_view& out) {
    uint16_t n = 0;
    return U16(n) && Raw(n, out);
  }

  size_t position() const { return pos_; }
  size_t remaining() const { return failed_ ? 0 : in_.size() - pos_; }
  bool failed() const { return failed_; }

 private:
  bool Need(size_t n) {
    if (failed_ || in_.size() - pos_ < n) return Fail();
    return true;
  }
  bool Fail() {
    failed_ = true;
    return false;
  }
  uint8_t Byte(size_t i) const { return static_cast<uint8_t>(in_[pos_ + i]); }

  std::string_view in_;
  size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace idnode
