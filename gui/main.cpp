// ward-editor: edit Ward IPsec policies and watch agents.
// Usage: ward-editor [--directory] [--monitor SOCKET|HOST:PORT [--cert F --key F --ca F]]
//                    [--fleet LIST [--cert F --key F --ca F]] [FOLDER]
// FOLDER holds ward-policy/1 JSON files (default: the current folder); --directory opens the
// Connect to Directory dialog at start (the directory store replaces the folder once connected);
// --monitor opens the security monitor on an agent's control socket or TLS monitor endpoint
// (with the helpdesk's client certificate, key and CA bundle); --fleet opens the fleet view on a
// list of agents (fleet_list.h) and starts monitoring them.
#include <cstdio>

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QLineEdit>
#include <QTimer>

#include "gui/agent_link.h"
#include "gui/fleet_monitor.h"
#include "gui/json_folder_store.h"
#include "gui/main_window.h"
#include "gui/security_monitor.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName("ward-editor");
  QApplication::setApplicationDisplayName("Ward IPsec Policy Editor");
  QCommandLineParser parser;
  parser.setApplicationDescription("Edit Ward IPsec policies (JSON files or the directory) and monitor agents.");
  parser.addHelpOption();
  const QCommandLineOption directory("directory", "Ask for a directory to connect to at start.");
  const QCommandLineOption monitor("monitor", "Open the security monitor on this agent: a control socket path or a TLS monitor endpoint host:port.",
                                   "agent");
  const QCommandLineOption fleet("fleet", "Open the fleet view on this list of agents (ENDPOINT [NAME [ADDRESS]] a line).", "list");
  const QCommandLineOption cert("cert", "The helpdesk's client certificate (PEM) for TLS monitor endpoints.", "file");
  const QCommandLineOption key("key", "Its private key (PEM).", "file");
  const QCommandLineOption ca("ca", "The CA bundle the agents' certificates must chain to (PEM).", "file");
  parser.addOptions({directory, monitor, fleet, cert, key, ca});
  parser.addPositionalArgument("folder", "Folder of policy JSON files (default: the current folder).");
  parser.process(app);
  std::optional<ward::gui::AgentTarget> monitor_target;
  if (parser.isSet(monitor)) {
    auto target = ward::gui::agent_target_from(parser.value(monitor), parser.value(cert), parser.value(key), parser.value(ca));
    if (!target) {
      std::fprintf(stderr, "ward-editor: --monitor: %s\n", qPrintable(target.error()));
      return 2;
    }
    monitor_target = std::move(target).value();
  }
  const QString folder = parser.positionalArguments().value(0, QDir::currentPath());
  ward::gui::MainWindow window(std::make_unique<ward::gui::JsonFolderStore>(QDir(folder).absolutePath()));
  window.show();
  if (monitor_target) {
    window.open_monitor();
    window.monitor()->connect_to_target(*monitor_target);
  }
  if (parser.isSet(fleet)) {
    window.open_fleet_monitor();
    auto* view = window.fleet_monitor();
    if (!view->load_list(parser.value(fleet))) {
      std::fprintf(stderr, "ward-editor: --fleet: %s\n", qPrintable(view->last_error()));
      return 2;
    }
    view->certificate_edit()->setText(parser.value(cert));
    view->private_key_edit()->setText(parser.value(key));
    view->ca_edit()->setText(parser.value(ca));
    if (!view->start()) {
      std::fprintf(stderr, "ward-editor: --fleet: %s\n", qPrintable(view->last_error()));
      return 2;
    }
  }
  if (parser.isSet(directory)) QTimer::singleShot(0, &window, &ward::gui::MainWindow::connect_directory);
  return QApplication::exec();
}
