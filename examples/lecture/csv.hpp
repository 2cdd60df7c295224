// write_csv: the numbers behind each tutorial's plot, as a plain CSV file (RFC 4180).
//
//   lecture::write_csv("study/momentum_1d.csv", {"method", "step", "x", "loss"},
//                      {{"GD", 0, -3.0, 1.4625}, {"GD", 1, -2.64, 0.73}});
//
// A cell is a number or a string. Doubles are written in the shortest form that reads
// back to the same value (std::to_chars), so the file holds exactly what was computed;
// NaN and infinities as nan / inf. Strings holding a comma, quote or line break are
// quoted, quotes doubled. Every row must have as many cells as the header.
// Failures throw: std::invalid_argument for a ragged row, std::runtime_error naming the
// file when it cannot be written.
#pragma once

#include <charconv>
#include <cmath>
#include <concepts>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace lecture {

// The shortest text that reads back to the same double (0.1 → "0.1"); nan, inf, -inf.
inline std::string to_text(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[32];
  return {buf, std::to_chars(buf, buf + sizeof buf, value).ptr};
}

class CsvCell {
 public:
  CsvCell(double value) : text_(to_text(value)) {}
  template <std::integral I>
  requires(!std::same_as<I, bool>) CsvCell(I value) : text_(std::to_string(value)) {}
  CsvCell(bool value) : text_(value ? "true" : "false") {}
  CsvCell(std::string text) : text_(std::move(text)) {}
  CsvCell(const char* text) : text_(text) {}

  const std::string& text() const noexcept { return text_; }

 private:
  std::string text_;
};

using CsvRow = std::vector<CsvCell>;

namespace detail {

inline void append_csv_field(std::string& line, const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) {
    line += text;
    return;
  }
  line += '"';
  for (char c : text) {
    if (c == '"') line += '"';
    line += c;
  }
  line += '"';
}

}  // namespace detail

inline void write_csv(const std::filesystem::path& path, const std::vector<std::string>& header,
                      const std::vector<CsvRow>& rows) {
  for (std::size_t r = 0; r < rows.size(); ++r)
    if (rows[r].size() != header.size())
      throw std::invalid_argument("write_csv " + path.string() + ": row " + std::to_string(r) + " has " +
                                  std::to_string(rows[r].size()) + " cells, the header has " +
                                  std::to_string(header.size()));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot open " + path.string() + " for writing");
  std::string line;
  auto write_line = [&](const auto& cells, auto text_of) {
    line.clear();
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i) line += ',';
      detail::append_csv_field(line, text_of(cells[i]));
    }
    line += '\n';
    out << line;
  };
  write_line(header, [](const std::string& s) -> const std::string& { return s; });
  for (const CsvRow& row : rows) write_line(row, [](const CsvCell& c) -> const std::string& { return c.text(); });
  out.flush();
  if (!out) throw std::runtime_error("writing " + path.string() + " failed (disk full or not writable?)");
}

}  // namespace lecture
