// C ABI of libuhdlens_spm, the only code that links libsentencepiece. core/src/tokenizer.cpp opens it with
// dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND) so sentencepiece's embedded protobuf never meets libtorch's.
// Buffers returned through `out` pointers are malloc'd by the shim and released with uhdlens_spm_free_buffer.
// Functions returning int give 0 on success, else write a NUL-terminated reason into err[errlen].
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UHDLENS_SPM_ABI_VERSION 1

typedef struct uhdlens_spm uhdlens_spm;

// The shim is built with -fvisibility=hidden: only these functions are exported.
#define UHDLENS_SPM_API __attribute__((visibility("default")))

UHDLENS_SPM_API int uhdlens_spm_abi_version(void);
UHDLENS_SPM_API uhdlens_spm *uhdlens_spm_load(const char *modelBytes, size_t len, char *err, size_t errlen);
UHDLENS_SPM_API void uhdlens_spm_release(uhdlens_spm *model);
UHDLENS_SPM_API void uhdlens_spm_free_buffer(void *buffer);

UHDLENS_SPM_API int uhdlens_spm_encode(const uhdlens_spm *model, const char *text, size_t len, int32_t **ids, size_t *count,
                       char *err, size_t errlen);
UHDLENS_SPM_API int uhdlens_spm_decode(const uhdlens_spm *model, const int32_t *ids, size_t count, char **text, size_t *len,
                       char *err, size_t errlen);
// Piece of `id` (caller checks the range); malloc'd.
UHDLENS_SPM_API int uhdlens_spm_id_to_piece(const uhdlens_spm *model, int32_t id, char **piece, size_t *len);
// Id of `piece`, or the unk id when absent.
UHDLENS_SPM_API int32_t uhdlens_spm_piece_to_id(const uhdlens_spm *model, const char *piece, size_t len);
UHDLENS_SPM_API int32_t uhdlens_spm_vocab_size(const uhdlens_spm *model);
// which: 0 unk, 1 bos, 2 eos, 3 pad; -1 when the model has none.
UHDLENS_SPM_API int32_t uhdlens_spm_special_id(const uhdlens_spm *model, int which);
// kind: 0 control, 1 unknown, 2 unused, 3 byte.
UHDLENS_SPM_API int uhdlens_spm_is(const uhdlens_spm *model, int32_t id, int kind);

// Trains on `count` sentences with sentencepiece trainer flags given as NUL-separated "key\0value\0" pairs
// (`options`, `optionsLen` bytes); the serialized ModelProto is returned in model/modelLen.
UHDLENS_SPM_API int uhdlens_spm_train(const char *const *sentences, const size_t *lengths, size_t count, const char *options,
                      size_t optionsLen, char **model, size_t *modelLen, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
