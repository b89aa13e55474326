// example::Cli over CLI11, compiled once for every example (cli.hpp).
#include "cli.hpp"

#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <limits>
#include <system_error>
#include <type_traits>
#include <utility>

namespace example {

std::string exact(double value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

Option& Option::group(const std::string& name) {
  option_->group(name);
  return *this;
}

Option& Option::no_default() {
  option_->default_str("");
  return *this;
}

bool Option::given() const { return option_->count() > 0; }

struct Cli::Impl {
  Impl(const std::string& description, const std::string& name) : app(description, name) {}
  CLI::App app;
};

Cli::Cli(const std::string& description, const std::string& name)
    : impl_(std::make_unique<Impl>(description, name)) {
  impl_->app.failure_message([](const CLI::App* a, const CLI::Error& e) {
    return a->get_name() + ": " + e.what() + "\nRun with --help for more information.\n";
  });
}

Cli::~Cli() = default;

namespace {

// The text of a number as the messages and --help show it.
template <class T>
std::string text(T x) {
  if constexpr (std::is_integral<T>::value)
    return std::to_string(x);
  else
    return exact(x);
}

template <class T>
CLI::Option* number_option(CLI::App& app, const std::string& name, T& value, T low, T high,
                           const std::string& help) {
  static_assert(std::is_arithmetic<T>::value, "number_option reads numbers");
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

}  // namespace

Option Cli::add_number(const std::string& name, int& value, int low, int high,
                       const std::string& help) {
  return Option(number_option(impl_->app, name, value, low, high, help));
}

Option Cli::add_number(const std::string& name, long& value, long low, long high,
                       const std::string& help) {
  return Option(number_option(impl_->app, name, value, low, high, help));
}

Option Cli::add_number(const std::string& name, std::uint64_t& value, std::uint64_t low,
                       std::uint64_t high, const std::string& help) {
  return Option(number_option(impl_->app, name, value, low, high, help));
}

Option Cli::add_number(const std::string& name, double& value, double low, double high,
                       const std::string& help) {
  return Option(number_option(impl_->app, name, value, low, high, help));
}

Option Cli::add_number(const std::string& name, double& value, const std::string& help) {
  const double big = std::numeric_limits<double>::max();
  return add_number(name, value, -big, big, help);
}

Option Cli::add_string(const std::string& name, std::string& value, const std::string& type,
                       const std::string& help) {
  return Option(impl_->app.add_option(name, value, help)->type_name(type)->capture_default_str());
}

Option Cli::add_choice(const std::string& name, std::string& value,
                       const std::vector<std::string>& choices, const std::string& help) {
  return Option(impl_->app.add_option(name, value, help)
                    ->check(CLI::IsMember(choices))
                    ->capture_default_str());
}

Option Cli::add_list(const std::string& name, std::vector<std::string>& values, char delimiter,
                     const std::vector<std::string>& choices, const std::string& type,
                     const std::string& help) {
  return Option(impl_->app.add_option(name, values, help)
                    ->delimiter(delimiter)
                    ->check(CLI::IsMember(choices))
                    ->type_name(type));
}

Option Cli::add_flag(const std::string& name, bool& value, const std::string& help) {
  return Option(impl_->app.add_flag(name, value, help));
}

void Cli::footer(const std::string& text) { impl_->app.footer(text); }

const std::string& Cli::name() const { return impl_->app.get_name(); }

int Cli::run(int argc, char** argv, const std::function<int()>& body) {
  CLI::App& app = impl_->app;
  int status = 0;
  try {
    app.parse(argc, argv);
    status = body();
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help arrives as a ParseError with status 0
  } catch (const UsageError& e) {
    return app.exit(CLI::ValidationError(e.what())) == 0 ? 0 : 2;
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

std::ofstream open_csv(const std::string& path, const char* header) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot open " + path + " for writing");
  out << header << '\n';
  return out;
}

void close_csv(std::ofstream& out, const std::string& path) {
  errno = 0;
  out.close();
  if (!out) {
    const std::string why = errno != 0 ? std::string(": ") + std::strerror(errno) : "";
    throw std::runtime_error("writing " + path + " failed" + why);
  }
}

}  // namespace example
