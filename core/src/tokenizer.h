// Internal include path for the tokenizer (the class itself is torch-free and public).
#pragma once
#include "uhdlens/tokenizer.h"
