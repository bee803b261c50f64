// Name tables of the device, dtype and stop-reason enums (the family table is models/family_registry.cpp).
#include "uhdlens/model_facts.h"

#include "name_table.h"

#include <array>
#include <charconv>

namespace uhdlens {

namespace {

template <class E> struct Row
{
    E value;
    std::string_view name;
};

constexpr std::array<Row<Device>, 3> kDeviceNames{
    {{Device::Auto, "auto"}, {Device::Cpu, "cpu"}, {Device::Cuda, "cuda"}}};

// Canonical names first; the aliases are the spellings torch and Hugging Face configs use.
constexpr std::array<Row<Dtype>, 10> kDtypeNames{{{Dtype::Auto, "auto"},
                                                  {Dtype::F32, "f32"},
                                                  {Dtype::Mixed, "mixed"},
                                                  {Dtype::Bf16, "bf16"},
                                                  {Dtype::F16, "f16"},
                                                  {Dtype::F32, "fp32"},
                                                  {Dtype::F32, "float32"},
                                                  {Dtype::Bf16, "bfloat16"},
                                                  {Dtype::F16, "fp16"},
                                                  {Dtype::F16, "float16"}}};

constexpr std::array<Row<StopReason>, 4> kStopReasonNames{{{StopReason::Eos, "eos"},
                                                           {StopReason::StopString, "stop-string"},
                                                           {StopReason::MaxTokens, "max-tokens"},
                                                           {StopReason::Cancelled, "cancelled"}}};

template <class E> struct Table;
template <> struct Table<Device>
{
    static constexpr const auto &rows = kDeviceNames;
    static constexpr const char *what = "device";
};
template <> struct Table<Dtype>
{
    static constexpr const auto &rows = kDtypeNames;
    static constexpr const char *what = "dtype";
};
template <> struct Table<StopReason>
{
    static constexpr const auto &rows = kStopReasonNames;
    static constexpr const char *what = "stop reason";
};

} // namespace

std::string nameOf(Device value)
{
    return std::string(names::nameOf(kDeviceNames, value));
}
std::string nameOf(Dtype value)
{
    return std::string(names::nameOf(kDtypeNames, value));
}
std::string nameOf(StopReason value)
{
    return std::string(names::nameOf(kStopReasonNames, value));
}

template <class E> std::optional<E> fromName(std::string_view name)
{
    return names::fromName<E>(Table<E>::rows, name);
}
template <class E> E parseName(std::string_view name)
{
    return names::parse<E>(Table<E>::rows, name, Table<E>::what, ErrorCode::InvalidArgument);
}
template <class E> std::vector<std::string> allNames()
{
    return names::canonical(Table<E>::rows);
}
template <class E> std::string validNamesText()
{
    return names::joinChoices(allNames<E>());
}

#define UHDLENS_NAME_TABLE(E)                                                                                \
    template std::optional<E> fromName<E>(std::string_view);                                                 \
    template E parseName<E>(std::string_view);                                                               \
    template std::vector<std::string> allNames<E>();                                                         \
    template std::string validNamesText<E>();
UHDLENS_NAME_TABLE(Device)
UHDLENS_NAME_TABLE(Dtype)
UHDLENS_NAME_TABLE(StopReason)
#undef UHDLENS_NAME_TABLE

DeviceChoice parseDevice(std::string_view text)
{
    // cuda:N picks a GPU (torch's spelling); everything else is a plain name of the table.
    constexpr std::string_view cudaPrefix = "cuda:";
    if (text.substr(0, cudaPrefix.size()) == cudaPrefix) {
        const std::string_view digits = text.substr(cudaPrefix.size());
        int index = -1;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || index < 0)
            throw Error(ErrorCode::InvalidArgument,
                        "bad device '" + std::string(text) + "' (expected cuda:N with N a GPU index)",
                        std::string(text));
        return {Device::Cuda, index};
    }
    return {parseName<Device>(text), 0};
}

std::string deviceChoiceName(const DeviceChoice &choice)
{
    std::string name = nameOf(choice.kind);
    if (choice.kind == Device::Cuda && choice.index != 0)
        name.append(":").append(std::to_string(choice.index));
    return name;
}

} // namespace uhdlens
