// `stamp-bounced classify FILE...`: runs the bounce classifier over saved
// messages and prints one JSON line per file:
//
//   {"file": "NAME", "kind": "dsn", "results": [{"recipient": "a@b", "class": "hard",
//     "type": "HardBounce", "type_code": 1, "reason": "userunknown", "status": "5.1.1",
//     "diagnostic": "550 5.1.1 ... User unknown"}, ...]}
//
// NAME is the file's base name. A file that cannot be read (missing, not a
// regular file, larger than kMaxClassifiedMessageBytes) gets a line with an
// "error" field instead, and the command goes on with the others and exits 1
// at the end. Owns the command line and the output format; classifying is
// bounced/classify/'s job.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace bounced {

// `args` are the words after "classify". Returns the process exit code:
// 0 all files classified, 1 some could not be read, 2 usage.
int run_classify_command(const std::vector<std::string>& args);

void print_classify_usage(std::FILE* out);

}  // namespace bounced
