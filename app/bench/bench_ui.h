// uhdlens-bench ui: how long the GUI thread stalls while the real main window streams a real generation.
#pragma once

#include <QStringList>

namespace bench {

int runUiBench(const QStringList &args);

} // namespace bench
