// The web console's assets embedded in the binary (console/embed_assets.cmake): every file of
// the build directory is there, byte for byte, with its content type and ETag.
#include "api/console_assets.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace sluice::api {
namespace {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ConsoleAssets, RootIsIndexHtml) {
  const ConsoleAsset* root = FindConsoleAsset("/");
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root, FindConsoleAsset("/index.html"));
  EXPECT_EQ(root->content_type, "text/html; charset=utf-8");
  EXPECT_NE(root->body.find("<title>Sluice</title>"), std::string_view::npos);
  EXPECT_FALSE(root->immutable);
  EXPECT_EQ(FindConsoleAsset("/no-such-file.js"), nullptr);
  EXPECT_EQ(FindConsoleAsset("index.html"), nullptr);  // paths start with "/"
}

TEST(ConsoleAssets, EveryFileIsEmbeddedByteForByte) {
  const std::filesystem::path dir = SLUICE_CONSOLE_ASSETS_DIR;
  size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    const std::string path = "/" + entry.path().lexically_relative(dir).generic_string();
    const ConsoleAsset* asset = FindConsoleAsset(path);
    ASSERT_NE(asset, nullptr) << path;
    EXPECT_EQ(asset->body, ReadFile(entry.path())) << path;
    EXPECT_TRUE(std::regex_match(std::string(asset->etag), std::regex("\"[0-9a-f]{20}\"")))
        << asset->etag;
    // The bytes are followed by a NUL (so the body may be used as a C string).
    EXPECT_EQ(asset->body.data()[asset->body.size()], '\0');
  }
  EXPECT_EQ(files, ConsoleAssets().size());
  EXPECT_GE(files, 1u);
}

TEST(ConsoleAssets, IndexLoadsOnlyEmbeddedScripts) {
  if (!ConsoleEmbedded()) GTEST_SKIP() << "built with -DSLUICE_CONSOLE=OFF: the stub page";
  const std::string index(FindConsoleAsset("/")->body);
  // Every script and stylesheet index.html names is embedded and nothing comes from another
  // host.
  std::regex ref(R"re((src|href)="([^"]*)")re");
  int scripts = 0;
  for (auto it = std::sregex_iterator(index.begin(), index.end(), ref);
       it != std::sregex_iterator(); ++it) {
    const std::string url = (*it)[2];
    if (url.starts_with("data:")) continue;
    ASSERT_TRUE(url.starts_with("/")) << url;
    ASSERT_FALSE(url.starts_with("//")) << url;
    const ConsoleAsset* asset = FindConsoleAsset(url);
    ASSERT_NE(asset, nullptr) << url;
    EXPECT_TRUE(asset->immutable) << url;
    if (url.ends_with(".js")) {
      ++scripts;
      EXPECT_EQ(asset->content_type, "text/javascript; charset=utf-8");
      EXPECT_NE(asset->body.find("sluice"), std::string_view::npos);
    }
  }
  EXPECT_EQ(scripts, 1);
}

}  // namespace
}  // namespace sluice::api
