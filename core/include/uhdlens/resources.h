// UHD Lens — where bundled resources (the default model, the tiny tokenizer corpus) are found. No torch here.
//
//     const std::string model = uhdlens::bundledModelFolder();          // empty when not installed
//     const std::string corpus = uhdlens::findResource("text/tiny-corpus.txt");
//
// The one search every caller uses (GUI, CLI, benches, tests), so the app and the engine never disagree about
// which copy of a resource is meant. Thread-safe (reads the environment and the file system only).
#pragma once

#include <string>
#include <vector>

namespace uhdlens {

// The folders searched, in order, first match wins:
//   1. $UHDLENS_RESOURCES, when set (a developer's or packager's override);
//   2. <executable>/../share/uhdlens: the installed layout (/usr/bin/../share/uhdlens), and the build tree's
//      (<build>/app/../share/uhdlens, which the build links to the source folders);
//   3. <executable>/../resources (resources/ beside bin/, a relocatable folder).
// The executable is QCoreApplication's when one exists, else /proc/self/exe. No compiled-in source path.
std::vector<std::string> resourceRoots();

// The first `<root>/<relative>` that exists, over `roots` in order (cleaned path), or empty.
std::string findResource(const std::string &relative, const std::vector<std::string> &roots);
// The same over resourceRoots().
std::string findResource(const std::string &relative);

// The bundled default model: the first root's models/uhd-lens-tiny that holds a config.json, or empty.
std::string bundledModelFolder();

} // namespace uhdlens
