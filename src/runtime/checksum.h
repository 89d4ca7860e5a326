#pragma once
// The 64-bit checksum of checkpoint files and pieces (XXH3), and its hexadecimal spelling.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::runtime {

uint64_t Checksum64(std::string_view bytes);
// The checksum of `parts` back to back (the same as of their concatenation).
uint64_t Checksum64(const std::vector<std::string_view>& parts);
// 16 lower-case hexadecimal digits.
std::string ChecksumHex(uint64_t checksum);
std::optional<uint64_t> ParseChecksumHex(std::string_view text);

}  // namespace sluice::runtime
