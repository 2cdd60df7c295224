// The study's report: one Section per experiment — the lecture's claim, what this run
// measured, and whether the measurement reproduced the claim — written as REPORT.md
// with the plots inline. Verdicts are computed from the measurements by each
// experiment's `section()` function, never written by hand.
#pragma once

#include <filesystem>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace lecture {

enum class Verdict { reproduced, not_reproduced, not_tested };

inline const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::reproduced:
      return "reproduced";
    case Verdict::not_reproduced:
      return "NOT reproduced";
    default:
      return "not tested in this run";
  }
}

struct Claim {
  std::string text;  // the lecture's statement
  Verdict verdict = Verdict::not_tested;
  std::string evidence;  // the measured numbers behind the verdict
};

struct Section {
  std::string title;
  std::string setup;        // what was run (model, data, sizes, lr rule)
  std::string measured;     // markdown: a table or list of the numbers
  std::vector<Claim> claims;
  std::vector<std::filesystem::path> plots;  // PNGs, relative to the report's folder
  std::vector<std::filesystem::path> data;   // CSVs
  double seconds = 0;
};

inline void write_report(const std::filesystem::path& path, const std::string& preamble,
                         const std::vector<Section>& sections) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot open " + path.string() + " for writing");
  out << "# minibatch study — the lecture, measured\n\n" << preamble << "\n\n## Summary\n\n";
  out << "| experiment | claim | verdict |\n| --- | --- | --- |\n";
  for (const auto& s : sections)
    for (const auto& c : s.claims) out << "| " << s.title << " | " << c.text << " | " << to_string(c.verdict) << " |\n";
  for (const auto& s : sections) {
    out << "\n## " << s.title << "\n\n" << s.setup << "\n\n" << s.measured << "\n\n";
    for (const auto& c : s.claims)
      out << "- **Claim:** " << c.text << "  \n  **Verdict: " << to_string(c.verdict) << ".** " << c.evidence << "\n";
    out << '\n';
    for (const auto& p : s.plots) out << "![" << p.stem().string() << "](" << p.generic_string() << ")\n\n";
    if (!s.data.empty()) {
      out << "Data:";
      for (const auto& d : s.data) out << " [" << d.filename().string() << "](" << d.generic_string() << ")";
      out << "\n";
    }
    out << "\n_Run time: " << static_cast<long>(s.seconds + 0.5) << " s._\n";
  }
}

inline std::string format(const char* fmt, double a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, a);
  return buf;
}

// Prints a section's setup, numbers and verdicts to stdout (the tutorials' output).
inline void print_section(const Section& s) {
  std::printf("%s\n\n%s\n\n%s\n\n", s.title.c_str(), s.setup.c_str(), s.measured.c_str());
  for (const auto& c : s.claims) std::printf("claim: %s\n  -> %s. %s\n", c.text.c_str(), to_string(c.verdict), c.evidence.c_str());
  for (const auto& p : s.plots) std::printf("plot: %s\n", p.string().c_str());
}

}  // namespace lecture
