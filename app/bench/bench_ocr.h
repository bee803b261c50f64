// uhdlens-bench ocr: word accuracy of the text layer by text height on rendered screenshot-like images.
#pragma once

#include <QStringList>

namespace bench {

int runOcrBench(const QStringList &args);

} // namespace bench
