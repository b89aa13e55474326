// What every example's command line shares: CLI11 for the flags, a checked
// reader for numbers, exit statuses, and CSV output that reports a failed write.
#pragma once

#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>

namespace example {

// The shortest text that reads back as the same double (std::to_chars), so a
// CSV value or a printed rate loses no digit and compares equal as text.
inline std::string exact(double value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

// Adds `--name VALUE` for a number in [low, high]. CLI11's own conversion
// reads "010" as octal, wraps "-1" into an unsigned seed and takes "nan", so
// the text is read here: plain decimal (std::from_chars), the whole of it,
// finite and in range, or parsing fails with a message naming the flag.
template <class T>
CLI::Option* add_number(CLI::App& app, const std::string& name, T& value, T low, T high,
                        const std::string& help) {
  static_assert(std::is_arithmetic<T>::value, "add_number reads numbers");
  const auto text = [](T x) {
    if constexpr (std::is_integral<T>::value)
      return std::to_string(x);
    else
      return exact(x);
  };
  std::string range;
  if constexpr (std::is_integral<T>::value) {
    range = "a whole number from " + text(low) + " to " + text(high);
  } else if (low == -std::numeric_limits<T>::max() && high == std::numeric_limits<T>::max()) {
    range = "a finite number";
  } else {
    range = "a number from " + text(low) + " to " + text(high);
  }
  auto read = [&value, low, high, name, range](const std::string& s) {
    T x{};
    const auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), x);
    const bool ok = error == std::errc() && end == s.data() + s.size() && x >= low && x <= high;
    if (!ok) throw CLI::ValidationError(name + " expects " + range + ", got '" + s + "'");
    value = x;
  };
  return app.add_option_function<std::string>(name, read, help)
      ->type_name(std::is_integral<T>::value ? "N" : "X")
      ->default_str(text(value));
}

// A double without a range of its own (descend checks the hyper-parameters).
inline CLI::Option* add_number(CLI::App& app, const std::string& name, double& value,
                               const std::string& help) {
  const double big = std::numeric_limits<double>::max();
  return add_number(app, name, value, -big, big, help);
}

// Opens a CSV file for writing and writes its header line.
inline std::ofstream open_csv(const std::string& path, const char* header) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot open " + path + " for writing");
  out << header << '\n';
  return out;
}

// Closes `out` and throws if any write to it failed: a full disk shows only
// when the buffer is flushed, so a stream that was never checked after the
// last write would report success.
inline void close_csv(std::ofstream& out, const std::string& path) {
  errno = 0;
  out.close();
  if (!out) {
    const std::string why = errno != 0 ? std::string(": ") + std::strerror(errno) : "";
    throw std::runtime_error("writing " + path + " failed" + why);
  }
}

// Parses the command line, then runs `body` (the program). Exit status:
// body's; 0 after --help; 2 for a flag CLI11 rejects or a value descend
// rejects (std::invalid_argument); 1 for any other failure, such as a write.
template <class Body>
int run(CLI::App& app, int argc, char** argv, Body body) {
  app.failure_message([](const CLI::App* a, const CLI::Error& e) {
    return a->get_name() + ": " + e.what() + "\nRun with --help for more information.\n";
  });
  int status = 0;
  try {
    app.parse(argc, argv);
    status = body();
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help arrives as a ParseError with status 0
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "%s: %s\n", app.get_name().c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", app.get_name().c_str(), e.what());
    return 1;
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::fprintf(stderr, "%s: writing standard output failed\n", app.get_name().c_str());
    return 1;
  }
  return status;
}

}  // namespace example
