#include "flopline/compute/runs_file.h"

#include <gtest/gtest.h>

#include "test_paths.h"

namespace flopline::compute {
namespace {

TEST(RunsFileTest, BundledExamplesParse) {
  auto runs = LoadRunsFile(std::string(FLOPLINE_SOURCE_DIR) + "/examples/runs.toml");
  ASSERT_TRUE(runs) << runs.error().ToString();
  ASSERT_GE(runs->size(), 5u);
  const compute::Run& first = (*runs)[0];
  EXPECT_EQ(first.name, "Llama 2 7B pretraining");
  ASSERT_TRUE(first.request.architecture);
  EXPECT_EQ(first.request.architecture->model_type, "llama");
  ASSERT_TRUE(first.request.hardware);
  EXPECT_DOUBLE_EQ(first.request.hardware->count * first.request.hardware->hours, 184320);
  EXPECT_EQ(first.request.start, core::Date::FromYmd(2023, 1, 1));
}

TEST(RunsFileTest, ConfigPathsAreRelativeToTheRunsFile) {
  std::string seen;
  auto loader = [&](const std::string& path) -> core::Result<Architecture> {
    seen = path;
    return Architecture{};
  };
  auto runs = ParseRunsFile("[[run]]\nname = \"a\"\nconfig = \"c/x.json\"\ntokens = 1e9\n",
                            "dir/runs.toml", loader);
  ASSERT_TRUE(runs) << runs.error().ToString();
  EXPECT_EQ(seen, "dir/c/x.json");
}

TEST(RunsFileTest, UnknownKeyIsAnErrorAtItsLine) {
  auto runs = ParseRunsFile("[[run]]\nname = \"a\"\nparams = 1e9\ntoken = 1e12\n", "r.toml");
  ASSERT_FALSE(runs);
  EXPECT_EQ(runs.error().field, "run[0].token");
  EXPECT_EQ(runs.error().where->line, 4);
  EXPECT_NE(runs.error().message.find("tokens"), std::string::npos);  // lists what is allowed
}

TEST(RunsFileTest, BadValuesNameTheField) {
  auto negative = ParseRunsFile("[[run]]\nname = \"a\"\nparams = 1e9\ntokens = -1\n", "r.toml");
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().field, "run[0].tokens");
  auto text = ParseRunsFile("[[run]]\nname = \"a\"\nparams = \"many\"\n", "r.toml");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().field, "run[0].params");
  EXPECT_EQ(text.error().where->line, 3);
  auto hours_alone = ParseRunsFile("[[run]]\nname = \"a\"\nhours = 5\n", "r.toml");
  ASSERT_FALSE(hours_alone);
  EXPECT_NE(hours_alone.error().message.find("accelerator"), std::string::npos);
  auto syntax = ParseRunsFile("[[run]\nname = 1", "r.toml");
  ASSERT_FALSE(syntax);
  EXPECT_EQ(syntax.error().where->line, 1);
}

// Regression (runs_file_fuzz): a huge seq_len was cast to an integer before its range was checked.
TEST(RunsFileTest, HugeSequenceLengthIsAnErrorNotUndefinedBehaviour) {
  auto runs = ParseRunsFile("[[run]]\nname = \"a\"\nparams = 1e9\ntokens = 1e12\nseq_len = 9.0e52\n", "r.toml");
  ASSERT_FALSE(runs);
  EXPECT_EQ(runs.error().field, "run[0].seq_len");
}

TEST(RunsFileTest, MissingConfigNamesTheRun) {
  auto runs = ParseRunsFile("[[run]]\nname = \"a\"\nconfig = \"nope.json\"\ntokens = 1e9\n",
                            "/nonexistent/r.toml");
  ASSERT_FALSE(runs);
  EXPECT_EQ(runs.error().field, "run[0].config");
  EXPECT_EQ(runs.error().where->line, 3);
}

}  // namespace
}  // namespace flopline::compute
