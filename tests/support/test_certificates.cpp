// Test certificates through the `openssl` command line.
#include "test_certificates.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <stdlib.h>

namespace gatehouse::test {

namespace {
constexpr const char* new_key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
}

test_certificates::test_certificates() {
    std::string templ = "/tmp/gatehouse-certs-XXXXXX";
    if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = templ;
    run(std::string("req -x509 ") + new_key + " -keyout ca.key -out ca.pem -days 2 -subj /CN=gatehouse-test-ca"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign");
    sign("node", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    sign("other", "subjectAltName=DNS:other.test\nextendedKeyUsage=serverAuth\n");
    sign("client", "extendedKeyUsage=clientAuth\n");
    run(std::string("req -x509 ") + new_key + " -keyout wrong.key -out wrong.pem -days 2 -subj /CN=localhost"
        " -addext subjectAltName=DNS:localhost,IP:127.0.0.1");
}

test_certificates::~test_certificates() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

void test_certificates::sign(const std::string& name, const std::string& extensions) const {
    std::ofstream(file(name + ".ext")) << "basicConstraints=CA:FALSE\n" << extensions;
    run(std::string("req ") + new_key + " -keyout " + name + ".key -out " + name + ".csr -subj /CN=" + name);
    run("x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out " + name +
        ".pem -extfile " + name + ".ext");
}

void test_certificates::run(const std::string& command) const {
    const std::string log = file("openssl.log");
    const std::string line = "cd '" + dir_ + "' && openssl " + command + " >'" + log + "' 2>&1";
    if (std::system(line.c_str()) == 0) return;
    std::stringstream out;
    out << std::ifstream(log).rdbuf();
    throw std::runtime_error("openssl " + command + " failed:\n" + out.str());
}

}  // namespace gatehouse::test
