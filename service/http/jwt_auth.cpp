// JWT verification with libjwt; JWKS public keys converted to PEM with OpenSSL.
#include "service/http/jwt_auth.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace switchboard {
namespace {

template <class T, void (*Free)(T*)> struct deleter {
    void operator()(T* p) const noexcept { Free(p); }
};
using bn_ptr = std::unique_ptr<BIGNUM, deleter<BIGNUM, BN_free>>;
using bld_ptr = std::unique_ptr<OSSL_PARAM_BLD, deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using params_ptr = std::unique_ptr<OSSL_PARAM, deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using bio_ptr = std::unique_ptr<BIO, deleter<BIO, BIO_free_all>>;
using jwt_ptr = std::unique_ptr<jwt_t, deleter<jwt_t, jwt_free>>;

std::string member(const boost::json::object& o, std::string_view name)
{
    const auto* v = o.if_contains(name);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string b64url_member(const boost::json::object& o, std::string_view name, const std::string& where)
{
    auto bytes = jwt::base64url_decode(member(o, name));
    if (!bytes || bytes->empty()) {
        throw std::runtime_error(where + ": \"" + std::string(name) + "\" is missing or not base64url");
    }
    return *bytes;
}

bn_ptr to_bn(const std::string& bytes)
{
    return bn_ptr(
        BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()), nullptr));
}

// A public key from OpenSSL parameters, written as a PEM SubjectPublicKeyInfo.
std::string public_pem(const char* type, OSSL_PARAM_BLD* bld, const std::string& where)
{
    params_ptr params(OSSL_PARAM_BLD_to_param(bld));
    ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY* raw = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0
        || EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
        throw std::runtime_error(where + ": not a usable " + type + " public key");
    }
    pkey_ptr key(raw);
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) {
        throw std::runtime_error(where + ": cannot encode the public key");
    }
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

std::string rsa_pem(const boost::json::object& k, const std::string& where)
{
    const auto n = to_bn(b64url_member(k, "n", where));
    const auto e = to_bn(b64url_member(k, "e", where));
    if (BN_num_bits(n.get()) < 2048) {
        throw std::runtime_error(where + ": RSA keys shorter than 2048 bits are refused");
    }
    bld_ptr bld(OSSL_PARAM_BLD_new());
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get());
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get());
    return public_pem("RSA", bld.get(), where);
}

std::string ec_pem(const boost::json::object& k, const char* group, std::size_t coord, const std::string& where)
{
    const auto x = b64url_member(k, "x", where);
    const auto y = b64url_member(k, "y", where);
    if (x.size() != coord || y.size() != coord) {
        throw std::runtime_error(where + ": x and y must be " + std::to_string(coord) + " bytes each");
    }
    std::string point = "\x04" + x + y; // uncompressed point
    bld_ptr bld(OSSL_PARAM_BLD_new());
    OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
    OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
    return public_pem("EC", bld.get(), where);
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read the JWKS file " + path);
    }
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

jwt_verifier::jwt_verifier(const jwt_settings& settings) : policy_(settings.policy)
{
    if (!settings.secret.empty()) {
        if (settings.secret.size() < 32) {
            throw std::runtime_error("SWITCHBOARD_JWT_SECRET must be at least 32 bytes (RFC 7518 §3.2)");
        }
        keys_.push_back({"", "HS256", settings.secret});
    }
    if (settings.jwks_file.empty()) {
        return;
    }
    boost::system::error_code ec;
    const auto doc = boost::json::parse(read_file(settings.jwks_file), ec);
    const auto* list = !ec && doc.is_object() ? doc.get_object().if_contains("keys") : nullptr;
    if (list == nullptr || !list->is_array()) {
        throw std::runtime_error("the JWKS file " + settings.jwks_file + " is not a JSON object with a \"keys\" array");
    }
    std::size_t i = 0;
    for (const auto& v : list->get_array()) {
        const std::string where = settings.jwks_file + " keys[" + std::to_string(i++) + "]";
        if (!v.is_object()) {
            throw std::runtime_error(where + ": not an object");
        }
        const auto& k = v.get_object();
        const std::string use = member(k, "use");
        if (!use.empty() && use != "sig") {
            continue; // an encryption key: not for verifying tokens
        }
        const std::string kty = member(k, "kty");
        const std::string alg = member(k, "alg");
        key out{member(k, "kid"), {}, {}};
        if (kty == "RSA") {
            out.alg = alg.empty() ? "RS256" : alg;
            if (out.alg != "RS256" && out.alg != "RS384" && out.alg != "RS512") {
                throw std::runtime_error(where + ": RSA key with unsupported alg " + alg);
            }
            out.material = rsa_pem(k, where);
        } else if (kty == "EC") {
            const std::string crv = member(k, "crv");
            if (crv == "P-256" && (alg.empty() || alg == "ES256")) {
                out.alg = "ES256";
                out.material = ec_pem(k, "prime256v1", 32, where);
            } else if (crv == "P-384" && (alg.empty() || alg == "ES384")) {
                out.alg = "ES384";
                out.material = ec_pem(k, "secp384r1", 48, where);
            } else {
                throw std::runtime_error(where + ": EC key with unsupported crv/alg " + crv + "/" + alg);
            }
        } else {
            throw std::runtime_error(where + ": unsupported kty \"" + kty + "\" (RSA and EC public keys only)");
        }
        keys_.push_back(std::move(out));
    }
}

jwt_verifier::verdict jwt_verifier::verify(std::string_view token, std::int64_t now) const
{
    verdict out;
    if (token.size() > 8192) {
        out.reason = "malformed";
        return out;
    }
    // The header picks the key; the algorithm must be the key's own, so an HS256 token can
    // never be checked against a public key (algorithm confusion) and "none" matches no key.
    const auto header = jwt::peek_header(token);
    if (!header) {
        out.reason = "malformed";
        return out;
    }
    const std::string text(token);
    bool candidate = false;
    for (const auto& k : keys_) {
        if (k.alg != header->alg || (!header->kid.empty() && !k.kid.empty() && k.kid != header->kid)) {
            continue;
        }
        candidate = true;
        jwt_t* raw = nullptr;
        const int rc = jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(k.material.data()),
            static_cast<int>(k.material.size()));
        jwt_ptr decoded(raw);
        const char* verified_alg = decoded ? jwt_alg_str(jwt_get_alg(decoded.get())) : nullptr;
        if (rc != 0 || verified_alg == nullptr || k.alg != verified_alg) {
            continue;
        }
        char* claims = jwt_get_grants_json(decoded.get(), nullptr);
        const std::string json = claims != nullptr ? claims : "";
        std::free(claims);
        auto checked = jwt::check_claims(json, policy_, now);
        if (checked.failure != jwt::claim_failure::none) {
            out.reason = to_string(checked.failure);
            return out;
        }
        out.ok = true;
        out.reason = "ok";
        out.who = std::move(checked.who);
        return out;
    }
    out.reason = candidate ? "bad_signature" : "no_matching_key";
    return out;
}

} // namespace switchboard
