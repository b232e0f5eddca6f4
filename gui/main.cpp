// ward-editor: edit Ward IPsec policies and watch an agent.
// Usage: ward-editor [--directory] [--monitor SOCKET] [FOLDER]
// FOLDER holds ward-policy/1 JSON files (default: the current folder); --directory opens the
// Connect to Directory dialog at start (the directory store replaces the folder once connected);
// --monitor opens the security monitor on an agent's control socket.
#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QTimer>

#include "gui/json_folder_store.h"
#include "gui/main_window.h"
#include "gui/security_monitor.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName("ward-editor");
  QApplication::setApplicationDisplayName("Ward IPsec Policy Editor");
  QCommandLineParser parser;
  parser.setApplicationDescription("Edit Ward IPsec policies (JSON files or the directory) and monitor an agent.");
  parser.addHelpOption();
  const QCommandLineOption directory("directory", "Ask for a directory to connect to at start.");
  const QCommandLineOption monitor("monitor", "Open the security monitor on this agent control socket.", "socket");
  parser.addOption(directory);
  parser.addOption(monitor);
  parser.addPositionalArgument("folder", "Folder of policy JSON files (default: the current folder).");
  parser.process(app);
  const QString folder = parser.positionalArguments().value(0, QDir::currentPath());
  ward::gui::MainWindow window(std::make_unique<ward::gui::JsonFolderStore>(QDir(folder).absolutePath()));
  window.show();
  if (parser.isSet(monitor)) {
    window.open_monitor();
    window.monitor()->connect_to(parser.value(monitor));
  }
  if (parser.isSet(directory)) QTimer::singleShot(0, &window, &ward::gui::MainWindow::connect_directory);
  return QApplication::exec();
}
