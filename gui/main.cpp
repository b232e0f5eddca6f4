// ward-editor: edit Ward IPsec policies. Usage: ward-editor [FOLDER]
// FOLDER holds ward-policy/1 JSON files (default: the current folder). The directory (LDAP) store
// joins once the directory layer implements PolicyStore.
#include <QApplication>
#include <QCommandLineParser>
#include <QDir>

#include "gui/json_folder_store.h"
#include "gui/main_window.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName("ward-editor");
  QApplication::setApplicationDisplayName("Ward IPsec Policy Editor");
  QCommandLineParser parser;
  parser.setApplicationDescription("Edit Ward IPsec policies stored as ward-policy/1 JSON files.");
  parser.addHelpOption();
  parser.addPositionalArgument("folder", "Folder of policy JSON files (default: the current folder).");
  parser.process(app);
  const QString folder = parser.positionalArguments().value(0, QDir::currentPath());
  ward::gui::MainWindow window(std::make_unique<ward::gui::JsonFolderStore>(QDir(folder).absolutePath()));
  window.show();
  return QApplication::exec();
}
