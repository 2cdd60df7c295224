// Plots for the lecture tutorials, drawn by gnuplot (Debian: gnuplot-nox).
//
//   lecture::Plot curve{.title = "loss", .xlabel = "step", .ylabel = "loss", .logy = true,
//                       .series = {{.title = "GD", .x = steps, .y = losses}}};
//   lecture::write_png(curve, "study/loss.png");
//
// Two kinds of panel: Plot (x–y series: lines, points, log axes) and ContourPlot (a
// function f(x, y) sampled on a grid, drawn as contour lines over light shading, with
// paths such as optimizer trajectories on top). write_png takes one panel or a row of
// panels side by side.
//
// write_png("study/x.png") first writes study/x.gp: a self-contained gnuplot script with
// the data inline (datablocks), so `cd study && gnuplot x.gp` redraws the figure and a
// reader can tweak it. It then runs gnuplot on it (no shell involved). The terminal is
// pngcairo when this gnuplot has it, else the libgd png terminal. Text is taken
// literally (noenhanced: an underscore stays an underscore); UTF-8 such as θ or η works.
//
// Failures throw std::runtime_error naming the PNG: gnuplot not installed, or gnuplot's
// exit status and its error output. Bad input (x and y of different lengths, an empty
// series, no grid function) throws std::invalid_argument naming the series.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

extern char** environ;

namespace lecture {

// One curve of a panel. style is gnuplot's `with` clause: "lines", "points",
// "linespoints", optionally with options, e.g. "linespoints pt 7 ps 0.5 lw 1" or
// "points pt 2 ps 2 lc rgb 'black'". Without an explicit colour, series take the
// colours blue, red, green, orange, purple, brown in turn.
struct Series {
  std::string title{};  // legend entry; empty: not in the legend
  std::vector<double> x{}, y{};
  std::string style = "linespoints";
};

struct Plot {
  std::string title{}, xlabel{}, ylabel{};
  bool logx = false, logy = false;
  std::vector<Series> series{};
  std::string key = "top right";  // gnuplot `set key` position
  int width = 900, height = 600;  // pixels
};

// Contours of f on the grid [xmin, xmax] × [ymin, ymax] (nx × ny samples), shaded by the
// band between levels, with paths drawn on top and clipped to the grid's box.
struct ContourPlot {
  std::string title{}, xlabel{}, ylabel{};
  std::function<double(double, double)> f{};
  double xmin = -1, xmax = 1, ymin = -1, ymax = 1;
  std::size_t nx = 101, ny = 101;
  std::vector<double> levels{};  // contour values; empty: 10 levels chosen by gnuplot
  std::vector<Series> paths{};
  std::string key = "top right";
  int width = 900, height = 650;
};

using Panel = std::variant<Plot, ContourPlot>;

// count levels first, first·factor, first·factor², … (contours of a loss that spans
// decades, e.g. f − f* for a quadratic).
inline std::vector<double> geometric_levels(double first, double factor, std::size_t count) {
  std::vector<double> levels;
  for (double level = first; levels.size() < count; level *= factor) levels.push_back(level);
  return levels;
}

namespace detail {

inline std::string gp_string(std::string_view text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '\n') {
      quoted += "\\n";
      continue;
    }
    if (c == '\\' || c == '"') quoted += '\\';
    quoted += c;
  }
  return quoted + '"';
}

// Shortest round-trip text, or `digits` significant digits (grids, which are only drawn);
// gnuplot skips NaN points, which breaks a line there.
inline void append_number(std::string& out, double value, int digits = 0) {
  if (!std::isfinite(value)) {
    out += "NaN";
    return;
  }
  char buf[32];
  const auto end = digits > 0 ? std::to_chars(buf, buf + sizeof buf, value, std::chars_format::general, digits).ptr
                              : std::to_chars(buf, buf + sizeof buf, value).ptr;
  out.append(buf, end);
}

inline void check_series(const Series& s, std::string_view panel) {
  if (s.x.size() != s.y.size())
    throw std::invalid_argument("plot \"" + std::string(panel) + "\": series \"" + s.title + "\" has " +
                                std::to_string(s.x.size()) + " x values but " + std::to_string(s.y.size()) +
                                " y values");
  if (s.x.empty())
    throw std::invalid_argument("plot \"" + std::string(panel) + "\": series \"" + s.title + "\" has no points");
}

class ScriptWriter {
 public:
  std::string text;

  void line(std::string_view s) {
    text += s;
    text += '\n';
  }
  // A datablock $name holding the columns of a series.
  std::string series_block(const Series& s) {
    const std::string name = "$series" + std::to_string(blocks_++);
    line(name + " << EOD");
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      append_number(text, s.x[i]);
      text += ' ';
      append_number(text, s.y[i]);
      text += '\n';
    }
    line("EOD");
    return name;
  }
  // A datablock with x y f(x, y) band, one block per x (what splot and `with image` want).
  std::string grid_block(const ContourPlot& c) {
    const std::string name = "$grid" + std::to_string(blocks_++);
    line(name + " << EOD");
    for (std::size_t i = 0; i < c.nx; ++i) {
      const double x = c.xmin + (c.xmax - c.xmin) * static_cast<double>(i) / static_cast<double>(c.nx - 1);
      for (std::size_t j = 0; j < c.ny; ++j) {
        const double y = c.ymin + (c.ymax - c.ymin) * static_cast<double>(j) / static_cast<double>(c.ny - 1);
        const double z = c.f(x, y);
        // Shade by the band between contour levels, so that levels spread over decades
        // give evenly spread shades; without levels, by the value itself.
        const double band =
            c.levels.empty()
                ? z
                : static_cast<double>(std::upper_bound(c.levels.begin(), c.levels.end(), z) - c.levels.begin());
        append_number(text, x, 6);
        text += ' ';
        append_number(text, y, 6);
        text += ' ';
        append_number(text, z, 6);
        text += ' ';
        append_number(text, band, 6);
        text += '\n';
      }
      text += '\n';
    }
    line("EOD");
    return name;
  }
  std::string contour_table(const ContourPlot& c, const std::string& grid) {
    const std::string name = "$contours" + std::to_string(blocks_++);
    line("set view map");
    line("unset surface");
    line("set contour base");
    if (c.levels.empty()) {
      line("set cntrparam levels auto 10");
    } else {
      std::string levels = "set cntrparam levels discrete ";
      for (std::size_t i = 0; i < c.levels.size(); ++i) {
        if (i) levels += ", ";
        append_number(levels, c.levels[i]);
      }
      line(levels);
    }
    line("set table " + name);
    line("splot " + grid + " using 1:2:3 with lines notitle");
    line("unset table");
    line("unset contour");
    line("set surface");
    return name;
  }

 private:
  int blocks_ = 0;
};

inline std::string plot_clause(const std::string& block, const Series& s) {
  return block + " using 1:2 with " + s.style + (s.title.empty() ? " notitle" : " title " + gp_string(s.title));
}

inline std::string panel_settings(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                                  const std::string& key) {
  return "set title " + gp_string(title) + "\nset xlabel " + gp_string(xlabel) + "\nset ylabel " + gp_string(ylabel) +
         "\nset key " + key + " opaque box\nunset logscale\nunset colorbox\n" +
         "set format x \"%g\"\nset format y \"%g\"\n";
}

// Data first (datablocks and contour tables cannot be made inside a multiplot), then
// one plot command per panel.
inline std::string script_for(const std::vector<Panel>& panels, const std::string& png_name) {
  if (panels.empty()) throw std::invalid_argument("write_png " + png_name + ": no panels to draw");
  ScriptWriter w;
  int width = 0, height = 0;
  std::vector<std::string> plot_commands;
  for (const Panel& panel : panels) {
    std::string command;
    if (const Plot* p = std::get_if<Plot>(&panel)) {
      width += p->width;
      height = std::max(height, p->height);
      std::vector<std::string> clauses;
      for (const Series& s : p->series) {
        check_series(s, p->title);
        clauses.push_back(plot_clause(w.series_block(s), s));
      }
      if (clauses.empty()) throw std::invalid_argument("plot \"" + p->title + "\": no series to draw");
      std::ostringstream cmd;
      cmd << panel_settings(p->title, p->xlabel, p->ylabel, p->key) << "set autoscale xy\n";
      if (p->logx) cmd << "set logscale x\n";
      if (p->logy) cmd << "set logscale y\n";
      cmd << "plot ";
      for (std::size_t i = 0; i < clauses.size(); ++i) cmd << (i ? ", \\\n     " : "") << clauses[i];
      command = cmd.str();
    } else {
      const ContourPlot& c = std::get<ContourPlot>(panel);
      if (!c.f) throw std::invalid_argument("contour plot \"" + c.title + "\": no function f(x, y) to draw");
      if (c.nx < 2 || c.ny < 2 || !(c.xmax > c.xmin) || !(c.ymax > c.ymin))
        throw std::invalid_argument("contour plot \"" + c.title +
                                    "\": the grid needs nx, ny ≥ 2 and xmin < xmax, "
                                    "ymin < ymax");
      if (!std::is_sorted(c.levels.begin(), c.levels.end()))
        throw std::invalid_argument("contour plot \"" + c.title + "\": levels must be ascending");
      width += c.width;
      height = std::max(height, c.height);
      const std::string grid = w.grid_block(c);
      const std::string contours = w.contour_table(c, grid);
      std::vector<std::string> clauses;
      for (const Series& s : c.paths) {
        check_series(s, c.title);
        clauses.push_back(plot_clause(w.series_block(s), s));
      }
      std::ostringstream cmd;
      cmd << panel_settings(c.title, c.xlabel, c.ylabel, c.key);
      std::string range;
      append_number(range, c.xmin);
      range += ':';
      append_number(range, c.xmax);
      cmd << "set xrange [" << range << "]\n";
      range.clear();
      append_number(range, c.ymin);
      range += ':';
      append_number(range, c.ymax);
      cmd << "set yrange [" << range << "]\n";
      cmd << "set palette defined (0 '#ffffff', 1 '#e3eef8', 2 '#a9cce3')\n";
      cmd << "plot " << grid << " using 1:2:4 with image notitle, \\\n     " << contours
          << " using 1:2 with lines lc rgb '#7f7f7f' lw 1 notitle";
      for (const std::string& clause : clauses) cmd << ", \\\n     " << clause;
      command = cmd.str();
    }
    plot_commands.push_back(std::move(command));
  }

  std::string head = "# Drawn by examples/lecture/plot.hpp. Redraw from this folder with: gnuplot " +
                     std::filesystem::path(png_name).replace_extension(".gp").string() + "\n";
  const std::string size = std::to_string(width) + "," + std::to_string(height);
  head +=
      "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
      "  set terminal pngcairo size " +
      size +
      " noenhanced font \"Sans,11\"\n"
      "} else {\n"
      "  set terminal png size " +
      size +
      " noenhanced\n"
      "}\n";
  head += "set output " + gp_string(png_name) + "\n";
  head +=
      "set linetype 1 lc rgb '#1f77b4' lw 2 pt 7\n"
      "set linetype 2 lc rgb '#d62728' lw 2 pt 5\n"
      "set linetype 3 lc rgb '#2ca02c' lw 2 pt 9\n"
      "set linetype 4 lc rgb '#ff7f0e' lw 2 pt 11\n"
      "set linetype 5 lc rgb '#9467bd' lw 2 pt 13\n"
      "set linetype 6 lc rgb '#8c564b' lw 2 pt 15\n"
      "set linetype cycle 6\n"
      "set grid lc rgb '#dddddd'\n"
      "set border lc rgb '#444444'\n";
  std::string body = std::move(w.text);
  if (panels.size() > 1) body += "set multiplot layout 1," + std::to_string(panels.size()) + "\n";
  for (const std::string& command : plot_commands) body += command + "\n";
  if (panels.size() > 1) body += "unset multiplot\n";
  body += "unset output\n";
  return head + body;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs `gnuplot -e 'cd "DIR"' NAME.gp` with its output captured in NAME.gp.log, which is
// removed on success and quoted in the exception otherwise.
inline void run_gnuplot(const std::filesystem::path& script, const std::filesystem::path& png) {
  namespace fs = std::filesystem;
  const fs::path dir = script.parent_path();
  const fs::path log = fs::path(script).concat(".log");
  std::string cd = "cd " + gp_string(dir.string());
  std::string name = script.filename().string();
  std::string program = "gnuplot", dash_e = "-e";
  char* argv[] = {program.data(), dash_e.data(), cd.data(), name.data(), nullptr};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  const int spawn_error = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0) {
    std::error_code ignored;
    fs::remove(log, ignored);
    throw std::runtime_error("cannot draw " + png.string() + ": gnuplot could not be started (" +
                             std::strerror(spawn_error) + "); install gnuplot (Debian: gnuplot-nox)");
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("cannot draw " + png.string() + ": waiting for gnuplot failed");
  }
  std::string output = read_text(log);
  std::error_code ignored;
  fs::remove(log, ignored);
  const bool exited_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (exited_ok && fs::exists(png)) return;
  fs::remove(png, ignored);  // gnuplot opens the PNG before it fails
  if (output.size() > 2000) output = "…" + output.substr(output.size() - 2000);
  const std::string how = WIFEXITED(status)     ? "exit status " + std::to_string(WEXITSTATUS(status))
                          : WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                                                : "status " + std::to_string(status);
  throw std::runtime_error("gnuplot failed to draw " + png.string() + " from " + script.string() + " (" + how +
                           (exited_ok ? ", but wrote no PNG" : "") + ")" +
                           (output.empty() ? std::string() : ":\n" + output));
}

}  // namespace detail

// Draws the panels side by side into png; writes the gnuplot script next to it (same
// stem, .gp). The folder must exist.
inline void write_png(const std::vector<Panel>& panels, const std::filesystem::path& png) {
  namespace fs = std::filesystem;
  const fs::path target = fs::absolute(png);
  const fs::path script = fs::path(target).replace_extension(".gp");
  const std::string text = detail::script_for(panels, target.filename().string());
  {
    std::ofstream out(script, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write the gnuplot script " + script.string());
    out << text;
    out.flush();
    if (!out) throw std::runtime_error("writing the gnuplot script " + script.string() + " failed");
  }
  std::error_code ignored;
  fs::remove(target, ignored);  // so that a stale PNG never passes for a fresh one
  detail::run_gnuplot(script, target);
}
inline void write_png(const Plot& plot, const std::filesystem::path& png) { write_png(std::vector<Panel>{plot}, png); }
inline void write_png(const ContourPlot& plot, const std::filesystem::path& png) {
  write_png(std::vector<Panel>{plot}, png);
}

}  // namespace lecture
