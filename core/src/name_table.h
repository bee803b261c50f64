// Internal (torch-free): lookups over an enum's name table — rows of {value, name}, canonical name first, aliases
// after it — shared by the tables of uhdlens/model_facts.h (model_facts.cpp, models/family_registry.cpp).
#pragma once

#include "uhdlens/errors.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uhdlens::names {

template <class Rows, class E> std::string_view nameOf(const Rows &rows, E value)
{
    for (const auto &r : rows)
        if (r.value == value)
            return r.name;
    return {};
}

template <class E, class Rows> std::optional<E> fromName(const Rows &rows, std::string_view name)
{
    for (const auto &r : rows)
        if (r.name == name)
            return r.value;
    return std::nullopt;
}

// Canonical names (the first row of each value), in table order.
template <class Rows> std::vector<std::string> canonical(const Rows &rows)
{
    std::vector<std::string> out;
    for (const auto &r : rows)
        if (nameOf(rows, r.value) == r.name)
            out.emplace_back(r.name);
    return out;
}

// "a, b or c".
inline std::string joinChoices(const std::vector<std::string> &names)
{
    std::string out;
    for (size_t i = 0; i < names.size(); ++i)
        out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
    return out;
}

// fromName, or Error(code) "unknown <what> '<name>' (choose a, b or c)" with the bad value as its subject.
template <class E, class Rows>
E parse(const Rows &rows, std::string_view name, const char *what, ErrorCode code)
{
    if (auto v = fromName<E>(rows, name))
        return *v;
    throw Error(code,
                "unknown " + std::string(what) + " '" + std::string(name) + "' (choose " +
                    joinChoices(canonical(rows)) + ")",
                std::string(name));
}

} // namespace uhdlens::names
