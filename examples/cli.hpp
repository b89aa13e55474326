// What every example's command line shares: the flags (example::Cli, over
// CLI11), a checked reader for numbers, exit statuses, and CSV output that
// reports a failed write.
//
// CLI11 is compiled once, in cli.cpp (the descend_example_cli library):
// including <CLI/CLI.hpp> costs seconds of compile time in every file that
// does, so this header declares only what the examples call.
#pragma once

#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace CLI {
class Option;
}  // namespace CLI

namespace example {

// The shortest text that reads back as the same double (std::to_chars), so a
// CSV value or a printed rate loses no digit and compares equal as text.
std::string exact(double value);

// A command line the program rejects after parsing (a flag that does not
// apply to another's value): Cli::run reports it as it reports a flag CLI11
// rejects, with a pointer to --help, and exits with status 2.
class UsageError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A handle on one flag of a Cli, valid while the Cli lives.
class Option {
 public:
  // Lists the flag in --help under the heading `name` instead of Options.
  Option& group(const std::string& name);
  // Shows no default value in --help (for a flag whose default depends on another).
  Option& no_default();
  // Whether the command line gave the flag; after parsing, in run()'s body.
  bool given() const;

 private:
  friend class Cli;
  explicit Option(CLI::Option* option) : option_(option) {}
  CLI::Option* option_;
};

// A program's flags; the values are read into the variables the add_
// functions were given, which must outlive the Cli's run().
class Cli {
 public:
  Cli(const std::string& description, const std::string& name);
  ~Cli();
  Cli(const Cli&) = delete;
  Cli& operator=(const Cli&) = delete;

  // `--name N` (or X) for a number in [low, high], with `value` as its
  // default. CLI11's own conversion reads "010" as octal, wraps "-1" into an
  // unsigned seed and takes "nan", so the text is read here: plain decimal
  // (std::from_chars), the whole of it, finite and in range, or parsing
  // fails with a message naming the flag.
  Option add_number(const std::string& name, int& value, int low, int high,
                    const std::string& help);
  Option add_number(const std::string& name, long& value, long low, long high,
                    const std::string& help);
  Option add_number(const std::string& name, std::uint64_t& value, std::uint64_t low,
                    std::uint64_t high, const std::string& help);
  Option add_number(const std::string& name, double& value, double low, double high,
                    const std::string& help);
  // A finite double without a range of its own (descend checks the hyper-parameters).
  Option add_number(const std::string& name, double& value, const std::string& help);

  // `--name TYPE` for a string, such as a FILE or DIR; --help shows `value`
  // as the default unless it is empty.
  Option add_string(const std::string& name, std::string& value, const std::string& type,
                    const std::string& help);
  // `--name TEXT` for one of `choices`, with `value` as the default.
  Option add_choice(const std::string& name, std::string& value,
                    const std::vector<std::string>& choices, const std::string& help);
  // `--name A,B,...` for a list of `choices` separated by `delimiter`.
  Option add_list(const std::string& name, std::vector<std::string>& values, char delimiter,
                  const std::vector<std::string>& choices, const std::string& type,
                  const std::string& help);
  // `--name` alone sets `value` to true.
  Option add_flag(const std::string& name, bool& value, const std::string& help);

  // Text for the end of --help.
  void footer(const std::string& text);
  // The program's name, as the messages begin.
  const std::string& name() const;

  // Parses the command line, then runs `body` (the program). Exit status:
  // body's; 0 after --help; 2 for a flag CLI11 rejects, a UsageError or a
  // value descend rejects (std::invalid_argument); 1 for any other failure,
  // such as a write (to a file or to standard output).
  int run(int argc, char** argv, const std::function<int()>& body);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Opens a CSV file for writing and writes its header line.
std::ofstream open_csv(const std::string& path, const char* header);

// Closes `out` and throws if any write to it failed: a full disk shows only
// when the buffer is flushed, so a stream that was never checked after the
// last write would report success.
void close_csv(std::ofstream& out, const std::string& path);

}  // namespace example
