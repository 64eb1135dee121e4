// Shared by the kill switch benchmarks (killswitch_bench.cc, killswitch_fleet.cc): starting a
// process with its output to a log, a percentile over rounds, and a comma-separated list of counts.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

namespace flopline::bench {

// Runs `argv` (PATH searched) with stdout and stderr appended to `log`; its pid.
inline pid_t Spawn(const std::vector<std::string>& argv, const std::string& log = "/dev/null") {
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = std::fopen(log.c_str(), "a");
    if (f != nullptr) {
      dup2(fileno(f), 2);
      dup2(fileno(f), 1);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// The value at fraction `p` of the sorted values (nearest rank); `v` must not be empty.
inline double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::min<double>(static_cast<double>(v.size() - 1),
                                                  p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

// "10,100,1000" -> {10, 100, 1000} (a command-line list of agent or round counts).
inline std::vector<int> Ints(const std::string& list) {
  std::vector<int> out;
  std::stringstream in(list);
  for (std::string s; std::getline(in, s, ',');) out.push_back(std::stoi(s));
  return out;
}

}  // namespace flopline::bench
