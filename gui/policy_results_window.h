// PolicyResultsWindow: which IPsec policy a computer gets through Group Policy and why — the
// editor's counterpart of Windows' Group Policy Results and Modelling (GPMC), from the code
// wardd itself runs (directory/gpo/policy_results.h), so it gives the agent's answer.
//
// Left: the domain's OUs, containers and computers as a tree, with a search box (a computer's
// name, account or DNS name). Right, for the selected computer: its account as security
// filtering sees it, its site and where that came from, the scopes of management from the site
// down to its OU (links, blocked inheritance), and every GPO link in processing order with its
// precedence, link order, enforcement, whether it applied and why not, and the IPsec policy it
// assigns; the winning policy on top. "What if": the same with the computer placed in another
// container and/or another site (or the site of an address).
//
// Directory calls run on Qt's thread pool, one at a time; the window shows a busy bar meanwhile
// and an error in its status bar when one fails.
#pragma once

#include <QFuture>
#include <QMainWindow>

#include "gui/policy_store.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSortFilterProxyModel;
class QStandardItemModel;
class QTableView;
class QTreeView;

namespace ward::gui {

class PolicyResultsWindow : public QMainWindow {
  Q_OBJECT

 public:
  // `admin` must outlive the window (the main window deletes it before changing stores).
  explicit PolicyResultsWindow(GroupPolicyAdmin& admin, QWidget* parent = nullptr);
  ~PolicyResultsWindow() override;

  void reload();                                // reads the tree, the sites and the containers
  bool select_computer(const QString& name);    // by name, account or DN; false if not in the tree
  void show_results();                          // for the selected computer (and the what-if choices)

  bool busy() const { return busy_; }
  QString last_error() const { return last_error_; }
  const std::optional<ComputerResults>& results() const { return results_; }

  QLineEdit* search_edit() const { return search_; }
  QTreeView* tree_view() const { return tree_; }
  QCheckBox* model_check() const { return model_; }
  QComboBox* placement_combo() const { return placement_; }
  QComboBox* site_combo() const { return site_; }
  QLineEdit* address_edit() const { return address_; }
  QPushButton* show_button() const { return show_; }
  QLabel* winner_label() const { return winner_; }
  QLabel* computer_label() const { return computer_; }
  QLabel* site_label() const { return site_label_; }
  QTableView* soms_view() const { return soms_view_; }
  QTableView* gpos_view() const { return gpos_view_; }

 signals:
  void loaded();     // the tree is (re)loaded, or failed to load
  void answered();   // results (or the error) are shown

 private:
  struct Listing;
  void set_busy(bool busy, const QString& doing);
  void fill_tree(const std::vector<DirectoryNode>& nodes);
  void fill_results(const ComputerResults& results);
  QString selected_computer() const;
  void update_state();

  GroupPolicyAdmin& admin_;
  QLineEdit* search_;
  QStandardItemModel* tree_model_;
  QSortFilterProxyModel* tree_proxy_;
  QTreeView* tree_;
  QCheckBox* model_;
  QComboBox* placement_;
  QComboBox* site_;
  QLineEdit* address_;
  QPushButton* show_;
  QLabel* winner_;
  QLabel* computer_;
  QLabel* directory_;
  QLabel* site_label_;
  QLabel* filtering_;
  QStandardItemModel* soms_model_;
  QTableView* soms_view_;
  QStandardItemModel* gpos_model_;
  QTableView* gpos_view_;
  QLabel* status_;
  QProgressBar* busy_bar_;
  bool busy_ = false;
  QString last_error_;
  std::optional<ComputerResults> results_;
  QFuture<void> pending_;
};

}  // namespace ward::gui
