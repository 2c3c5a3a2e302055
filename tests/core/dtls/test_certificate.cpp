#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/dtls/certificate.hpp"
#include "core/dtls/dtls_transport.hpp"
#include "tests/core/dtls/dtls_wire.hpp"

using namespace tincan;
using namespace tincan::dtls;

namespace {

// A PEM file in a private temporary directory, removed at the end of the test.
struct TempPem {
    std::filesystem::path dir, file;
    explicit TempPem(const std::string& pem) {
        char tmpl[] = "/tmp/tincan-dtls-XXXXXX";
        dir = mkdtemp(tmpl);
        file = dir / "identity.pem";
        std::ofstream(file) << pem;
    }
    ~TempPem() { std::filesystem::remove_all(dir); }
};

std::string run(const std::string& command) {
    std::string out;
    FILE* f = popen(command.c_str(), "r");
    if (!f) return out;
    char buf[512];
    while (size_t n = fread(buf, 1, sizeof buf, f)) out.append(buf, n);
    pclose(f);
    return out;
}

bool haveOpensslCli() {
    return std::system("openssl version >/dev/null 2>&1") == 0;
}

// "sha256 Fingerprint=AB:CD:..." (OpenSSL 3) -> "AB:CD:..."
std::string cliFingerprint(const std::filesystem::path& pem, const char* digest) {
    std::string out =
        run("openssl x509 -noout -fingerprint -" + std::string(digest) + " -in " + pem.string());
    auto eq = out.find('=');
    if (eq == std::string::npos) return {};
    std::string hex = out.substr(eq + 1);
    while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
    return hex;
}

// "<algorithm> AB:CD:..." with `bytes` upper-case hex pairs, as browsers write a=fingerprint.
bool isBrowserStyle(const std::string& s, const std::string& algorithm, size_t bytes) {
    if (s.rfind(algorithm + " ", 0) != 0 || s.size() != algorithm.size() + 1 + bytes * 3 - 1)
        return false;
    for (size_t i = algorithm.size() + 1, k = 0; i < s.size(); ++i, ++k) {
        char c = s[i];
        bool ok = k % 3 == 2 ? c == ':' : ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'));
        if (!ok) return false;
    }
    return true;
}

std::string hexPart(const sdp::Fingerprint& fp) {
    std::string s = fp.toString();
    return s.substr(s.find(' ') + 1);
}

}  // namespace

TEST(Certificate, GeneratesDistinctIdentitiesWithBrowserStyleFingerprints) {
    auto a = Certificate::generate(), b = Certificate::generate();
    ASSERT_TRUE(a && b);
    auto fp = a->fingerprint();
    EXPECT_EQ(fp.algorithm, "sha-256");
    EXPECT_EQ(fp.digest.size(), 32u);
    EXPECT_TRUE(isBrowserStyle(fp.toString(), "sha-256", 32)) << fp.toString();
    EXPECT_NE(fp, b->fingerprint());
    EXPECT_TRUE(isBrowserStyle(a->fingerprint("sha-1").toString(), "sha-1", 20));
    EXPECT_EQ(a->fingerprint("sha-224").digest.size(), 28u);
    EXPECT_EQ(a->fingerprint("sha-384").digest.size(), 48u);
    EXPECT_EQ(a->fingerprint("sha-512").digest.size(), 64u);
    EXPECT_TRUE(a->fingerprint("md5").digest.empty());
    EXPECT_TRUE(a->fingerprint("SHA-256").digest.empty()) << "RFC 8122 names are lower case";

    auto days = std::chrono::duration_cast<std::chrono::hours>(a->notAfter() -
                                                               std::chrono::system_clock::now())
                    .count() /
                24.0;
    EXPECT_NEAR(days, 30.0, 0.1);
}

TEST(Certificate, FingerprintMatchesOpensslCli) {
    if (!haveOpensslCli()) GTEST_SKIP() << "no openssl command";
    auto cert = Certificate::generate();
    ASSERT_TRUE(cert);
    TempPem pem(cert->toPem());
    EXPECT_EQ(hexPart(cert->fingerprint("sha-256")), cliFingerprint(pem.file, "sha256"));
    EXPECT_EQ(hexPart(cert->fingerprint("sha-1")), cliFingerprint(pem.file, "sha1"));
    EXPECT_EQ(hexPart(cert->fingerprint("sha-512")), cliFingerprint(pem.file, "sha512"));

    std::string text = run("openssl x509 -noout -text -in " + pem.file.string());
    EXPECT_NE(text.find("Version: 3"), std::string::npos) << text;
    EXPECT_NE(text.find("prime256v1"), std::string::npos) << "ECDSA P-256";
    EXPECT_NE(text.find("ecdsa-with-SHA256"), std::string::npos);
    EXPECT_NE(text.find("Subject: CN = tincan-"), std::string::npos);
    // The key is a valid PKCS#8 EC key for the CLI too.
    std::string key = run("openssl pkey -noout -text -in " + pem.file.string() + " 2>&1");
    EXPECT_NE(key.find("Private-Key: (256 bit"), std::string::npos) << key;
}

TEST(Certificate, PemRoundTripKeepsTheIdentity) {
    auto cert = Certificate::generate();
    ASSERT_TRUE(cert);
    std::string pem = cert->toPem();
    EXPECT_NE(pem.find("-----BEGIN CERTIFICATE-----"), std::string::npos);
    EXPECT_NE(pem.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
    auto read = Certificate::fromPem(pem);
    ASSERT_TRUE(read) << read.message();
    auto back = *read;
    EXPECT_EQ(back->fingerprint(), cert->fingerprint());
    EXPECT_EQ(back->toPem(), pem);
    EXPECT_EQ(back->notAfter(), cert->notAfter());

    // Key first, with other text around: still found.
    auto certEnd = pem.find("-----BEGIN PRIVATE KEY-----");
    std::string swapped = "comment\n" + pem.substr(certEnd) + "\nmore\n" + pem.substr(0, certEnd);
    auto readAgain = Certificate::fromPem(swapped);
    ASSERT_TRUE(readAgain) << readAgain.message();
    auto again = *readAgain;
    EXPECT_EQ(again->fingerprint(), cert->fingerprint());

    // The imported identity completes a handshake, and the peer sees the same fingerprint.
    auto peerCert = Certificate::generate();
    DtlsTransport a(
        back, DtlsConfig{.role = Role::Client, .remoteFingerprints = {peerCert->fingerprint()}});
    DtlsTransport b(peerCert,
                    DtlsConfig{.role = Role::Server, .remoteFingerprints = {cert->fingerprint()}});
    test::Wires w;
    w.connect(a, b);
    a.start(Clock::now());
    ASSERT_TRUE(w.runUntil([&] { return b.state() == State::Connected; }));
    EXPECT_EQ(b.remoteFingerprint(), cert->fingerprint());
}

TEST(Certificate, FromPemRejectsIncompleteOrMismatchedInput) {
    auto a = Certificate::generate(), b = Certificate::generate();
    std::string pa = a->toPem(), pb = b->toPem();
    auto split = [](const std::string& pem) {
        auto k = pem.find("-----BEGIN PRIVATE KEY-----");
        return std::pair{pem.substr(0, k), pem.substr(k)};
    };
    auto [certA, keyA] = split(pa);
    auto [certB, keyB] = split(pb);
    struct Case {
        std::string pem, expected;
    } cases[] = {
        {"", "no readable CERTIFICATE"},
        {"garbage", "no readable CERTIFICATE"},
        {certA, "no readable (unencrypted) PRIVATE KEY"},
        {keyA, "no readable CERTIFICATE"},
        {certA + keyB, "does not belong"},
        {certA.substr(0, certA.size() / 2) + keyA, "no readable CERTIFICATE"},
    };
    for (const auto& c : cases) {
        auto r = Certificate::fromPem(c.pem);
        EXPECT_FALSE(r);
        EXPECT_NE(r.message().find(c.expected), std::string::npos) << r.message();
    }
    EXPECT_FALSE(Certificate::fromPem(""));
}

// An identity made elsewhere (here an RSA one from the openssl command) works too.
TEST(Certificate, ImportedRsaIdentityHandshakes) {
    if (!haveOpensslCli()) GTEST_SKIP() << "no openssl command";
    TempPem out("");
    std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=rsa-test"
        " -keyout " +
        (out.dir / "k.pem").string() + " -out " + (out.dir / "c.pem").string() + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    std::ifstream k(out.dir / "k.pem"), c(out.dir / "c.pem");
    std::string pem((std::istreambuf_iterator<char>(c)), {});
    pem.append((std::istreambuf_iterator<char>(k)), {});
    auto readRsa = Certificate::fromPem(pem);
    ASSERT_TRUE(readRsa) << readRsa.message();
    auto rsa = *readRsa;
    EXPECT_EQ(hexPart(rsa->fingerprint()), cliFingerprint(out.dir / "c.pem", "sha256"));

    auto ec = Certificate::generate();
    DtlsTransport server(
        rsa, DtlsConfig{.role = Role::Server, .remoteFingerprints = {ec->fingerprint()}});
    DtlsTransport client(
        ec, DtlsConfig{.role = Role::Client, .remoteFingerprints = {rsa->fingerprint()}});
    test::Wires w;
    w.connect(client, server);
    client.start(Clock::now());
    ASSERT_TRUE(w.runUntil(
        [&] { return client.state() == State::Connected && server.state() == State::Connected; }));
    EXPECT_EQ(client.cipherSuite(), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
}
