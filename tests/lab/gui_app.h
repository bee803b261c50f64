// One QGuiApplication for a whole test process: the synthetic-data generator renders text, and Qt's font
// database needs one (offscreen platform unless the environment picks another). Deliberately never destroyed:
// tearing it down during static destruction, after Qt's own globals, crashes.
#pragma once

#include <QGuiApplication>

inline void ensureGuiApplication()
{
    if (!QGuiApplication::instance()) {
        static int argc = 1;
        static char name[] = "uhdlens-tests";
        static char *argv[] = {name, nullptr};
        if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
            qputenv("QT_QPA_PLATFORM", "offscreen");
        new QGuiApplication(argc, argv);
    }
}
