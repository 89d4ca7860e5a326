// md5, sha224, sha256, sha384, sha512 over TEXT or BYTEA, returning lower-case hex TEXT, through
// OpenSSL's EVP interface. The digest is fetched and the context allocated once per batch.

#include <openssl/evp.h>

#include <memory>

#include "expr/functions/overload.h"
#include "expr/functions/row_loops.h"

namespace sluice::expr {
namespace {

struct DigestDeleter {
  void operator()(EVP_MD* md) const { EVP_MD_free(md); }
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

Status OpenSslError(const std::string& fn, const char* what) {
  return Status::Internal("{}(): OpenSSL {} failed", fn, what);
}

Kernel DigestKernel(std::string algorithm) {
  return [algorithm](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                     ColumnPtr* out) -> Status {
    std::unique_ptr<EVP_MD, DigestDeleter> md(EVP_MD_fetch(nullptr, algorithm.c_str(), nullptr));
    if (!md) return OpenSslError(f.name, "digest lookup");
    std::unique_ptr<EVP_MD_CTX, DigestDeleter> ctx(EVP_MD_CTX_new());
    if (!ctx) return OpenSslError(f.name, "context allocation");
    const Column& in = *args[0];
    auto op = [&](int64_t i, std::string* hex) -> Status {
      std::string_view s = in.GetString(i);
      unsigned char digest[EVP_MAX_MD_SIZE];
      unsigned int len = 0;
      if (EVP_DigestInit_ex(ctx.get(), md.get(), nullptr) != 1 ||
          EVP_DigestUpdate(ctx.get(), s.data(), s.size()) != 1 ||
          EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) {
        return OpenSslError(f.name, "digest");
      }
      static constexpr char kHex[] = "0123456789abcdef";
      hex->resize(2 * len);
      for (unsigned int k = 0; k < len; ++k) {
        (*hex)[2 * k] = kHex[digest[k] >> 4];
        (*hex)[2 * k + 1] = kHex[digest[k] & 15];
      }
      return Status::Ok();
    };
    return StoreResult(MapStringRows(f.name, args, rows, types::Utf8(), op), out);
  };
}

// TEXT, JSON and BYTEA are hashed as their bytes; anything converting to TEXT is accepted.
BindFn DigestFunction(const char* algorithm) {
  Kernel kernel = DigestKernel(algorithm);
  return [kernel](const BindInput& in) -> Result<BoundFunction> {
    if (in.types.size() != 1) return NoMatchingSignature(in.name, in, "(TEXT) or (BYTEA)");
    DataType t = in.types[0];
    if (!t.is_string_like()) {
      if (!ConvertsTo(t, types::Utf8())) {
        return NoMatchingSignature(in.name, in, "(TEXT) or (BYTEA)");
      }
      t = types::Utf8();
    }
    BoundFunction fn;
    fn.arg_types = {t};
    fn.return_type = types::Utf8();
    fn.kernel = kernel;
    return fn;
  };
}

}  // namespace

void RegisterHashFunctions(FunctionRegistry* r) {
  r->Register("md5", DigestFunction("MD5"));
  r->Register("sha224", DigestFunction("SHA2-224"));
  r->Register("sha256", DigestFunction("SHA2-256"));
  r->Register("sha384", DigestFunction("SHA2-384"));
  r->Register("sha512", DigestFunction("SHA2-512"));
}

}  // namespace sluice::expr
