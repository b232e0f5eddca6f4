// The fleet view's pure parts: the helpdesk's agent list (errors by line), one agent's summary
// line from show-sa/show-policy, the rows the two-host view keeps for one peer, and what
// `ward-editor --monitor` accepts.
#include <QTest>

#include "gui/agent_link.h"
#include "gui/fleet_list.h"
#include "gui/fleet_summary.h"

using namespace ward::gui;

class FleetUnitTest : public QObject {
  Q_OBJECT

 private slots:
  void parses_the_agent_list() {
    const auto parsed = parse_fleet_list("# the Legal floor\n127.0.0.1:4443 s1 10.40.0.11\n\n/run/ward/control.sock here # local\n"
                                         "[::1]:5000\n");
    QVERIFY2(parsed, parsed ? "" : qPrintable(parsed.error()));
    QCOMPARE(parsed->size(), std::size_t{3});
    QCOMPARE((*parsed)[0].endpoint, QString("127.0.0.1:4443"));
    QCOMPARE((*parsed)[0].name, QString("s1"));
    QCOMPARE((*parsed)[0].address, QString("10.40.0.11"));
    QVERIFY((*parsed)[0].tls);
    QVERIFY(!(*parsed)[1].tls);
    QCOMPARE((*parsed)[1].name, QString("here"));
    QCOMPARE((*parsed)[2].name, QString("[::1]:5000"));
    // Saved and read back: the same list.
    const auto again = parse_fleet_list(format_fleet_list(*parsed));
    QVERIFY(again);
    QCOMPARE(again->size(), std::size_t{3});
    QCOMPARE((*again)[0].address, QString("10.40.0.11"));

    QCOMPARE(parse_fleet_list("127.0.0.1:4443\nagent7\n").error(),
             QString("line 2: 'agent7' is neither a control socket path (/...) nor a monitor endpoint host:port"));
    QCOMPARE(parse_fleet_list("h:70000\n").error(),
             QString("line 1: 'h:70000' is neither a control socket path (/...) nor a monitor endpoint host:port"));
    QCOMPARE(parse_fleet_list("h:1 a 10.0.0.1 extra\n").error(), QString("line 1: expected ENDPOINT [NAME [ADDRESS]], found 4 fields"));
    QCOMPARE(parse_fleet_list("h:1 a b\n").error(), QString("line 1: address 'b' is not an IP address"));
    QCOMPARE(parse_fleet_list("h:1\n\nh:1 again\n").error(), QString("line 3: 'h:1' is listed twice"));
  }

  void summarizes_one_agent() {
    const auto sa = nlohmann::json::parse(R"json({
      "sas": [{"peer": "10.0.0.2", "direction": "out", "spi": "0x1", "bytes": 100},
              {"peer": "10.0.0.2", "direction": "in", "spi": "0x2", "bytes": 50},
              {"peer": "10.0.0.3", "direction": "in", "spi": "0x3", "bytes": 7}],
      "main_modes": [{"peer": "10.0.0.2", "state": "established"}, {"peer": "10.0.0.4", "state": "negotiating"}],
      "soft_associations": [{"peer": "10.0.0.5", "state": "soft (no IPsec: peer did not answer IKE)"}],
      "failures": [{"peer": "10.0.0.6", "state": "failed", "failure": "no response from peer"}]})json");
    const auto policy = nlohmann::json::parse(R"json({"state": "applied", "policy": {"name": "Secure Server (Require Security)"}})json");
    const auto summary = summarize(sa, policy);
    QCOMPARE(summary.policy, QString("Secure Server (Require Security)"));
    QCOMPARE(summary.policy_state, QString("applied"));
    QCOMPARE(summary.main_modes, 1);
    QCOMPARE(summary.negotiating, 1);
    QCOMPARE(summary.quick_modes, 3);
    QCOMPARE(summary.soft, 1);
    QCOMPARE(summary.failures, 1);
    QCOMPARE(summary.bytes, std::uint64_t{157});
    QCOMPARE(summarize(nlohmann::json::object(), nlohmann::json{{"state", "none"}}).policy, QString("(none)"));

    const auto rows = rows_with_peer(sa, "10.0.0.2");
    QCOMPARE(rows.size(), std::size_t{3});  // its main mode and both SAs
    QCOMPARE(rows[0]["kind"].get<std::string>(), std::string("main mode"));
    QCOMPARE(rows[1]["kind"].get<std::string>(), std::string("quick mode SA"));
    QCOMPARE(rows_with_peer(sa, "10.0.0.6")[0]["kind"].get<std::string>(), std::string("failed"));
    QCOMPARE(rows_with_peer(sa, "").size(), std::size_t{7});
  }

  void accepts_a_socket_or_a_tls_endpoint_for_monitor() {
    const auto local = agent_target_from("/run/ward/control.sock", "", "", "");
    QVERIFY(local && !local->tls);
    const auto remote = agent_target_from("agent.example.com:4443", "h.pem", "h.key", "ca.pem");
    QVERIFY(remote && remote->tls);
    QCOMPARE(remote->tls->ca.string(), std::string("ca.pem"));
    QCOMPARE(agent_target_from("agent.example.com:4443", "h.pem", "", "").error(),
             QString("agent.example.com:4443 is a TLS monitor endpoint: --key, --ca missing"));
    QVERIFY(agent_target_from("/run/ward/control.sock", "h.pem", "", "").error().contains("are for a TLS monitor endpoint"));
    QVERIFY(agent_target_from("agent", "", "", "").error().contains("neither a control socket path"));
  }
};

QTEST_GUILESS_MAIN(FleetUnitTest)
#include "fleet_unit_test.moc"
