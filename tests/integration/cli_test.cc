// idctl against a real idnode process: data templates end to end (publish from a file, register
// values checked against the template, disable an attribute) and the CLI's error reporting.

#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <tuple>

#include "tests/integration/node_process.h"
#include "tests/support/command.h"
#include "tests/support/temp_dir.h"

namespace idnode {
namespace {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Appends `arg` to `command` as one single-quoted shell word, after a space.
void AppendQuoted(std::string& command, const std::string& arg) {
  command.append(" '");
  for (char c : arg) {
    if (c == '\'') {
      command.append("'\\''");
    } else {
      command.push_back(c);
    }
  }
  command.push_back('\'');
}

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    node_ = new testing::NodeProcess(dir_->Sub("node"));
    ASSERT_TRUE(node_->Start());
    acme_ = new std::string(node_->ProvisionRegistrant("acme", "88.123.45"));
    ASSERT_FALSE(acme_->empty());
    other_ = new std::string(node_->ProvisionRegistrant("other", "88.123.46"));
    ASSERT_FALSE(other_->empty());
  }
  static void TearDownTestSuite() {
    delete node_;
    delete dir_;
    delete acme_;
    delete other_;
  }

  // Runs idctl against the node with `token` and returns its exit code and output.
  static CommandResult Idctl(const std::vector<std::string>& args,
                             const std::string& token = *acme_) {
    std::string command;
    AppendQuoted(command, IDCTL_BINARY);
    AppendQuoted(command, "--server");
    AppendQuoted(command, node_->address());
    if (!token.empty()) {
      AppendQuoted(command, "--token");
      AppendQuoted(command, token);
    }
    for (const std::string& arg : args) AppendQuoted(command, arg);
    CommandResult result;
    std::tie(result.exit_code, result.output) = testing::RunCommand(command);
    return result;
  }

  static std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = dir_->Sub(name);
    std::ofstream(path) << text;
    return path;
  }

  static inline testing::TempDir* dir_;
  static inline testing::NodeProcess* node_;
  static inline std::string* acme_;
  static inline std::string* other_;
};

constexpr const char* kPumpTemplate = R"({
  "description": "Pumps",
  "attributes": [
    {"index": 2001, "name": "MODEL", "type": "string", "required": true, "min_length": 2,
     "max_length": 16},
    {"index": 2002, "name": "RATED_POWER_KW", "type": "number", "required": true},
    {"index": 2003, "name": "MADE_ON", "type": "date"}
  ]
})";

TEST_F(CliTest, PublishesATemplateAndChecksRegistrationsAgainstIt) {
  std::string file = WriteFile("pump.json", kPumpTemplate);
  CommandResult published = Idctl({"template", "publish", "88.123.45", file});
  ASSERT_EQ(published.exit_code, 0) << published.output;
  EXPECT_NE(published.output.find("published template version 1 of 88.123.45"), std::string::npos)
      << published.output;

  // Reading a template is public: no token needed.
  CommandResult shown = Idctl({"--json", "template", "get", "88.123.45"}, "");
  ASSERT_EQ(shown.exit_code, 0) << shown.output;
  auto json = nlohmann::json::parse(shown.output);
  EXPECT_EQ(json["version"], 1);
  EXPECT_EQ(json["author"], "acme");
  ASSERT_EQ(json["attributes"].size(), 3u);
  EXPECT_EQ(json["attributes"][1]["name"], "RATED_POWER_KW");
  EXPECT_EQ(json["attributes"][1]["type"], "number");

  CommandResult good =
      Idctl({"register", "88.123.45/PUMP-1", "--template", "1", "-v", "1:URL:https://p/1", "-v",
             "2001:MODEL:P-200", "-v", "2002:RATED_POWER_KW:7.5", "-v", "2003:MADE_ON:2026-02-28"});
  EXPECT_EQ(good.exit_code, 0) << good.output;
  CommandResult bad_number = Idctl({"register", "88.123.45/PUMP-2", "--template", "1", "-v",
                                    "2001:MODEL:P-200", "-v", "2002:RATED_POWER_KW:seven"});
  EXPECT_EQ(bad_number.exit_code, 1);
  EXPECT_NE(bad_number.output.find(
                "INVALID_ARGUMENT: values (index 2002, RATED_POWER_KW): \"seven\" is not a number"),
            std::string::npos)
      << bad_number.output;
  CommandResult missing =
      Idctl({"register", "88.123.45/PUMP-3", "--template", "1", "-v", "2001:MODEL:P-200"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("required attribute 2002 (RATED_POWER_KW)"), std::string::npos)
      << missing.output;
  CommandResult no_such_version =
      Idctl({"register", "88.123.45/PUMP-4", "--template", "9", "-v", "2001:MODEL:P-200"});
  EXPECT_EQ(no_such_version.exit_code, 1);
  EXPECT_NE(no_such_version.output.find("NOT_FOUND: values (index 1001): prefix 88.123.45 has no "
                                        "template version 9"),
            std::string::npos)
      << no_such_version.output;

  // Disabling MADE_ON publishes version 2; version 1 still accepts it, version 2 refuses it.
  CommandResult disabled = Idctl({"template", "disable", "88.123.45", "2003"});
  ASSERT_EQ(disabled.exit_code, 0) << disabled.output;
  EXPECT_NE(disabled.output.find("version 2"), std::string::npos) << disabled.output;
  CommandResult on_v2 =
      Idctl({"register", "88.123.45/PUMP-5", "--template", "2", "-v", "2001:MODEL:P-200", "-v",
             "2002:RATED_POWER_KW:3", "-v", "2003:MADE_ON:2026-02-28"});
  EXPECT_EQ(on_v2.exit_code, 1);
  EXPECT_NE(on_v2.output.find("the attribute is disabled in template version 2"), std::string::npos)
      << on_v2.output;
  CommandResult on_v1 =
      Idctl({"register", "88.123.45/PUMP-6", "--template", "1", "-v", "2001:MODEL:P-200", "-v",
             "2002:RATED_POWER_KW:3", "-v", "2003:MADE_ON:2026-02-28"});
  EXPECT_EQ(on_v1.exit_code, 0) << on_v1.output;

  CommandResult listed = Idctl({"--json", "template", "list", "88.123.45"}, "");
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  auto versions = nlohmann::json::parse(listed.output)["templates"];
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[1]["attributes"][2]["disabled"], true);
  EXPECT_EQ(versions[0]["attributes"][2].value("disabled", false), false);

  // Page by page: one version a page, and the token of the next.
  CommandResult page = Idctl({"--json", "template", "list", "88.123.45", "--page-size", "1"}, "");
  ASSERT_EQ(page.exit_code, 0) << page.output;
  const std::string first_page = page.output.substr(0, page.output.find('\n'));
  auto one = nlohmann::json::parse(first_page);
  ASSERT_EQ(one["templates"].size(), 1u);
  EXPECT_EQ(one["templates"][0]["version"], 1);
  EXPECT_EQ(one["next_page_token"], "1");
  CommandResult rest = Idctl(
      {"--json", "template", "list", "88.123.45", "--page-size", "1", "--page-token", "1"}, "");
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  auto last = nlohmann::json::parse(rest.output);
  ASSERT_EQ(last["templates"].size(), 1u);
  EXPECT_EQ(last["templates"][0]["version"], 2);
  EXPECT_EQ(last.value("next_page_token", ""), "");
  CommandResult too_big = Idctl({"template", "list", "88.123.45", "--page-size", "51"}, "");
  EXPECT_NE(too_big.exit_code, 0);
  CommandResult bad_token =
      Idctl({"template", "list", "88.123.45", "--page-token", "x\n-forged"}, "");
  EXPECT_EQ(bad_token.exit_code, 1);
  EXPECT_NE(bad_token.output.find("INVALID_ARGUMENT: page_token: \"x\\x0a-forged\" is not a "
                                  "template version"),
            std::string::npos)
      << bad_token.output;
}

TEST_F(CliTest, RefusesTemplatesWithReasons) {
  std::string file = WriteFile("other.json", kPumpTemplate);
  CommandResult foreign = Idctl({"template", "publish", "88.123.45", file, "--base", "0"}, *other_);
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_NE(foreign.output.find("PERMISSION_DENIED"), std::string::npos) << foreign.output;
  CommandResult anonymous = Idctl({"template", "publish", "88.123.46", file}, "");
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_NE(anonymous.output.find("UNAUTHENTICATED"), std::string::npos) << anonymous.output;

  std::string bad_type = WriteFile(
      "bad-type.json", R"({"attributes": [{"index": 2001, "name": "N", "type": "integer"}]})");
  CommandResult typed = Idctl({"template", "publish", "88.123.46", bad_type}, *other_);
  EXPECT_EQ(typed.exit_code, 1);
  EXPECT_NE(typed.output.find("attributes[0] type: \"integer\" is not an attribute type"),
            std::string::npos)
      << typed.output;
  std::string low =
      WriteFile("low.json", R"({"attributes": [{"index": 7, "name": "N", "type": "string"}]})");
  CommandResult low_index = Idctl({"template", "publish", "88.123.46", low}, *other_);
  EXPECT_NE(low_index.output.find("attributes[0]: index 7 is below 2000"), std::string::npos)
      << low_index.output;
  std::string unknown_key = WriteFile("unknown.json", R"({"atributes": []})");
  CommandResult misspelt = Idctl({"template", "publish", "88.123.46", unknown_key}, *other_);
  EXPECT_EQ(misspelt.exit_code, 2);
  EXPECT_NE(misspelt.output.find("not a template"), std::string::npos) << misspelt.output;
  CommandResult stale = Idctl({"template", "publish", "88.123.46", file, "--base", "3"}, *other_);
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_NE(stale.output.find("FAILED_PRECONDITION: base_version"), std::string::npos)
      << stale.output;
  CommandResult none = Idctl({"template", "get", "88.123.99"}, "");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.output.find("NOT_FOUND: prefix 88.123.99 has no data template"), std::string::npos)
      << none.output;
}

TEST_F(CliTest, ResolvesAndReadsSiteInfoOverTheHandleProtocol) {
  const std::string handle = "127.0.0.1:" + std::to_string(node_->handle_port());
  CommandResult registered =
      Idctl({"register", "88.123.45/WIRE-1", "--value", "1:URL:https://example.com/wire/1",
             "--value", "2:EMAIL:ops@example.com"});
  ASSERT_EQ(registered.exit_code, 0) << registered.output;
  for (const char* transport : {"--udp", "--tcp"}) {
    CommandResult out = Idctl({"resolve", "88.123.45/WIRE-1", transport, handle, "--json"});
    ASSERT_EQ(out.exit_code, 0) << transport << ": " << out.output;
    auto json = nlohmann::json::parse(out.output);
    EXPECT_EQ(json["identifier"], "88.123.45/WIRE-1");
    ASSERT_EQ(json["values"].size(), 2u) << out.output;
    EXPECT_EQ(json["values"][0]["data"], "https://example.com/wire/1");
    // Index and type filters travel in the request.
    out = Idctl({"resolve", "88.123.45/WIRE-1", transport, handle, "--type", "EMAIL", "--json"});
    ASSERT_EQ(out.exit_code, 0) << out.output;
    json = nlohmann::json::parse(out.output);
    ASSERT_EQ(json["values"].size(), 1u);
    EXPECT_EQ(json["values"][0]["index"], 2);

    out = Idctl({"resolve", "88.123.45/NOPE", transport, handle});
    EXPECT_EQ(out.exit_code, 1);
    EXPECT_NE(out.output.find("HANDLE_NOT_FOUND (100)"), std::string::npos) << out.output;

    out = Idctl({"site-info", transport, handle, "--json"});
    ASSERT_EQ(out.exit_code, 0) << out.output;
    json = nlohmann::json::parse(out.output);
    EXPECT_EQ(json["servers"][0]["address"], "127.0.0.1");
    EXPECT_EQ(json["servers"][0]["interfaces"][1]["port"], node_->handle_port());
  }
  CommandResult bad = Idctl({"resolve", "88.123.45/WIRE-1", "--udp", "localhost"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("--udp: \"localhost\" is not an address and port"), std::string::npos)
      << bad.output;
  CommandResult both = Idctl({"resolve", "x", "--udp", handle, "--tcp", handle});
  EXPECT_NE(both.exit_code, 0);
  EXPECT_NE(both.output.find("excludes"), std::string::npos) << both.output;
}

TEST_F(CliTest, ReportsStatisticsToOperatorsInEachFormat) {
  const std::string registrant = node_->ProvisionRegistrant("stats", "88.123.47");
  ASSERT_FALSE(registrant.empty());
  for (int i = 1; i <= 3; ++i) {
    CommandResult out = Idctl(
        {"register", "88.123.47/S-" + std::to_string(i), "--value", "1:URL:https://example.com/s"},
        registrant);
    ASSERT_EQ(out.exit_code, 0) << out.output;
  }
  CommandResult denied = Idctl({"report"}, registrant);
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_NE(denied.output.find("PERMISSION_DENIED"), std::string::npos) << denied.output;

  const std::string admin = node_->admin_token();
  ASSERT_EQ(Idctl({"account", "create", "ops", "--role", "operator"}, admin).exit_code, 0);
  CommandResult issued = Idctl({"token", "issue", "ops", "--json"}, admin);
  ASSERT_EQ(issued.exit_code, 0) << issued.output;
  const std::string ops = nlohmann::json::parse(issued.output)["token"];

  CommandResult csv = Idctl({"report", "--by-prefix", "--format", "csv"}, ops);
  ASSERT_EQ(csv.exit_code, 0) << csv.output;
  EXPECT_EQ(csv.output.substr(0, csv.output.find('\n')),
            "prefix,registered,created,deleted,resolutions,requests,from,to");
  EXPECT_NE(csv.output.find("\n88.123.47,3,3,0,0,0,"), std::string::npos) << csv.output;

  CommandResult json = Idctl({"report", "--format", "json"}, ops);
  ASSERT_EQ(json.exit_code, 0) << json.output;
  auto report = nlohmann::json::parse(json.output);
  ASSERT_EQ(report["thresholds"].size(), 4u);
  EXPECT_EQ(report["thresholds"][0]["id"], "acceptance_registered");
  EXPECT_EQ(report["thresholds"][0]["target"], "100");  // uint64 travels as a JSON string
  EXPECT_EQ(report["days"].size(), 30u);
  EXPECT_EQ(report["utc_offset"], "+08:00");

  const std::string today = report["today"];
  CommandResult series = Idctl({"report", "--from", today, "--to", today, "--format", "csv"}, ops);
  ASSERT_EQ(series.exit_code, 0) << series.output;
  EXPECT_EQ(std::count(series.output.begin(), series.output.end(), '\n'), 2) << series.output;
  EXPECT_EQ(series.output.find("date,created,deleted,registered,resolutions,requests\n" + today),
            0u)
      << series.output;

  CommandResult table = Idctl({"report"}, ops);
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("identifiers registered: "), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("bonus_daily"), std::string::npos) << table.output;

  CommandResult bad_date = Idctl({"report", "--from", "2026-02-30"}, ops);
  EXPECT_EQ(bad_date.exit_code, 1);
  EXPECT_NE(bad_date.output.find("INVALID_ARGUMENT: from: \"2026-02-30\" is not a valid date"),
            std::string::npos)
      << bad_date.output;
  CommandResult backwards = Idctl({"report", "--from", today, "--to", "2000-01-01"}, ops);
  EXPECT_EQ(backwards.exit_code, 1);
  EXPECT_NE(backwards.output.find("is after to: 2000-01-01"), std::string::npos)
      << backwards.output;
  CommandResult bad_format = Idctl({"report", "--format", "xml"}, ops);
  EXPECT_NE(bad_format.exit_code, 0);
  EXPECT_NE(bad_format.output.find("--format"), std::string::npos) << bad_format.output;

  // The upload spool: empty on a node that has no receiver configured.
  CommandResult pending = Idctl({"report", "--pending"}, ops);
  ASSERT_EQ(pending.exit_code, 0) << pending.output;
  EXPECT_EQ(pending.output, "0 statistics report(s) not yet delivered to the authority\n");
  CommandResult pending_csv = Idctl({"report", "--pending", "--format", "csv"}, ops);
  EXPECT_EQ(pending_csv.output, "report_id,first_day,last_day,created_at,bytes\n");
  CommandResult pending_mixed = Idctl({"report", "--pending", "--by-prefix"}, ops);
  EXPECT_EQ(pending_mixed.exit_code, 2);
  EXPECT_NE(pending_mixed.output.find("--pending lists the upload spool"), std::string::npos)
      << pending_mixed.output;
  EXPECT_EQ(Idctl({"report", "--pending"}, registrant).exit_code, 1);  // operators only
}

}  // namespace
}  // namespace idnode
