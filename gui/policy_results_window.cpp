#include "gui/policy_results_window.h"

#include <algorithm>
#include <map>

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStandardItemModel>
#include <QStatusBar>
#include <QStyle>
#include <QTableView>
#include <QTreeView>
#include <QVBoxLayout>

#include "directory/gpo/dn.h"
#include "gui/background.h"
#include "gui/display_text.h"

namespace ward::gui {

namespace {

constexpr int kDnRole = Qt::UserRole;
constexpr int kKindRole = Qt::UserRole + 1;
constexpr int kSearchRole = Qt::UserRole + 2;
constexpr int kResultsBusyBarWidth = 100;
constexpr int kStatusMessageMs = 10000;

// The verdict and its reason first: the question is "why (not) this GPO?".
const QStringList kGpoColumns{"Precedence", "GPO", "Applied", "Why", "IPsec policy", "Linked at", "Link order",
                              "Enforced", "Link enabled"};
enum GpoColumn { kPrecedence, kName, kApplied, kWhy, kPolicy, kLinkedAt, kLinkOrder, kEnforced, kLinkEnabled };
const QStringList kSomColumns{"Scope of management", "Kind", "Links", "Block inheritance"};

QStandardItem* text_item(const QString& text) {
  auto* item = new QStandardItem(text);
  item->setEditable(false);
  item->setToolTip(text);
  return item;
}

QString yes_no(bool value) { return value ? "Yes" : "No"; }

}  // namespace

struct PolicyResultsWindow::Listing {
  std::vector<DirectoryNode> nodes;
  std::vector<ContainerSummary> containers;
};

PolicyResultsWindow::PolicyResultsWindow(GroupPolicyAdmin& admin, QWidget* parent)
    : QMainWindow(parent), admin_(admin), search_(new QLineEdit(this)), tree_model_(new QStandardItemModel(this)),
      tree_proxy_(new QSortFilterProxyModel(this)), tree_(new QTreeView(this)),
      model_(new QCheckBox("&What if: model the computer elsewhere", this)), placement_(new QComboBox(this)),
      site_(new QComboBox(this)), address_(new QLineEdit(this)), show_(new QPushButton("&Show Results", this)),
      winner_(new QLabel(this)), computer_(new QLabel(this)), directory_(new QLabel(this)), site_label_(new QLabel(this)),
      filtering_(new QLabel(this)), soms_model_(new QStandardItemModel(this)), soms_view_(new QTableView(this)),
      gpos_model_(new QStandardItemModel(this)), gpos_view_(new QTableView(this)), status_(new QLabel(this)),
      busy_bar_(new QProgressBar(this)) {
  setWindowTitle("Policy Results");
  setObjectName("policy_results");

  search_->setObjectName("search");
  search_->setPlaceholderText("computer name, account or DNS name");
  search_->setClearButtonEnabled(true);
  tree_proxy_->setSourceModel(tree_model_);
  tree_proxy_->setFilterRole(kSearchRole);
  tree_proxy_->setFilterCaseSensitivity(Qt::CaseInsensitive);
  tree_proxy_->setRecursiveFilteringEnabled(true);  // a match keeps its OUs visible
  tree_proxy_->setSortCaseSensitivity(Qt::CaseInsensitive);
  tree_->setObjectName("tree");
  tree_->setModel(tree_proxy_);
  tree_->setHeaderHidden(true);
  tree_->setSortingEnabled(true);
  tree_->sortByColumn(0, Qt::AscendingOrder);
  tree_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  connect(search_, &QLineEdit::textChanged, this, [this](const QString& text) {
    tree_proxy_->setFilterFixedString(text);
    if (!text.isEmpty()) tree_->expandAll();
  });
  connect(tree_->selectionModel(), &QItemSelectionModel::currentChanged, this, [this] { update_state(); });
  connect(tree_, &QTreeView::activated, this, [this] { show_results(); });

  auto* left = new QWidget(this);
  auto* left_layout = new QVBoxLayout(left);
  left_layout->setContentsMargins(0, 0, 0, 0);
  auto* search_label = new QLabel("&Find:", left);
  search_label->setBuddy(search_);
  auto* search_row = new QHBoxLayout;
  search_row->addWidget(search_label);
  search_row->addWidget(search_);
  left_layout->addLayout(search_row);
  left_layout->addWidget(tree_, 1);

  // What if: another container, another site, or the site of an address.
  model_->setObjectName("model");
  placement_->setObjectName("placement");
  site_->setObjectName("site");
  site_->setEditable(true);  // a site DN can be typed
  address_->setObjectName("address");
  address_->setPlaceholderText("optional: an address whose subnet gives the site");
  auto* what_if = new QGroupBox("Modelling", this);
  auto* what_if_form = new QFormLayout(what_if);
  what_if_form->addRow(model_);
  auto* placement_label = new QLabel("&Place in:", this);
  placement_label->setBuddy(placement_);
  what_if_form->addRow(placement_label, placement_);
  auto* site_label = new QLabel("S&ite:", this);
  site_label->setBuddy(site_);
  what_if_form->addRow(site_label, site_);
  auto* address_label = new QLabel("Or the site of &address:", this);
  address_label->setBuddy(address_);
  what_if_form->addRow(address_label, address_);
  connect(model_, &QCheckBox::toggled, this, [this] { update_state(); });
  show_->setObjectName("show");
  show_->setDefault(true);
  connect(show_, &QPushButton::clicked, this, &PolicyResultsWindow::show_results);

  winner_->setObjectName("winner");
  QFont bold = winner_->font();
  bold.setBold(true);
  bold.setPointSizeF(bold.pointSizeF() * 1.15);
  winner_->setFont(bold);
  for (auto* label : {winner_, computer_, directory_, site_label_, filtering_}) {
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
  }
  computer_->setObjectName("computer");
  site_label_->setObjectName("site_result");
  auto* summary = new QFormLayout;
  summary->addRow("Computer:", computer_);
  summary->addRow("Directory:", directory_);
  summary->addRow("Site:", site_label_);
  summary->addRow("Security filtering:", filtering_);

  for (auto* view : {soms_view_, gpos_view_}) {
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    view->setTabKeyNavigation(false);
    view->setAlternatingRowColors(true);
    view->verticalHeader()->hide();
    view->horizontalHeader()->setStretchLastSection(true);
    view->setWordWrap(false);
  }
  soms_view_->setObjectName("soms");
  soms_view_->setModel(soms_model_);
  gpos_view_->setObjectName("gpos");
  gpos_view_->setModel(gpos_model_);
  soms_model_->setHorizontalHeaderLabels(kSomColumns);
  gpos_model_->setHorizontalHeaderLabels(kGpoColumns);

  auto* right = new QWidget(this);
  auto* right_layout = new QVBoxLayout(right);
  right_layout->setContentsMargins(0, 0, 0, 0);
  auto* top = new QHBoxLayout;
  auto* summary_box = new QVBoxLayout;
  summary_box->addWidget(winner_);
  summary_box->addLayout(summary);
  top->addLayout(summary_box, 3);
  auto* what_if_box = new QVBoxLayout;
  what_if_box->addWidget(what_if);
  what_if_box->addWidget(show_, 0, Qt::AlignRight);
  top->addLayout(what_if_box, 2);
  right_layout->addLayout(top);
  auto* soms_label = new QLabel("Scopes of &management, in processing order:", right);
  soms_label->setBuddy(soms_view_);
  right_layout->addWidget(soms_label);
  right_layout->addWidget(soms_view_);
  auto* gpos_label = new QLabel("&GPOs (precedence 1 wins; those not applied last, with why):", right);
  gpos_label->setBuddy(gpos_view_);
  right_layout->addWidget(gpos_label);
  right_layout->addWidget(gpos_view_, 1);

  auto* splitter = new QSplitter(this);
  splitter->addWidget(left);
  splitter->addWidget(right);
  splitter->setStretchFactor(0, 1);
  splitter->setStretchFactor(1, 3);
  setCentralWidget(splitter);

  busy_bar_->setRange(0, 0);
  busy_bar_->setMaximumWidth(kResultsBusyBarWidth);
  busy_bar_->hide();
  statusBar()->addWidget(status_, 1);
  statusBar()->addPermanentWidget(busy_bar_);
  setTabOrder(search_, tree_);
  setTabOrder(tree_, model_);
  setTabOrder(model_, placement_);
  setTabOrder(placement_, site_);
  setTabOrder(site_, address_);
  setTabOrder(address_, show_);
  setTabOrder(show_, soms_view_);
  setTabOrder(soms_view_, gpos_view_);
  resize(1400, 760);
  splitter->setSizes({330, 1070});
  update_state();
  reload();
}

PolicyResultsWindow::~PolicyResultsWindow() {
  pending_.waitForFinished();  // the worker uses admin_
  if (busy_) QApplication::restoreOverrideCursor();
}

void PolicyResultsWindow::set_busy(bool busy, const QString& doing) {
  if (busy != busy_) {
    if (busy) QApplication::setOverrideCursor(Qt::BusyCursor);
    else QApplication::restoreOverrideCursor();
  }
  busy_ = busy;
  busy_bar_->setVisible(busy);
  if (busy) status_->setText(doing);
  update_state();
}

void PolicyResultsWindow::update_state() {
  const bool modelling = model_->isChecked();
  for (QWidget* field : std::initializer_list<QWidget*>{placement_, site_, address_}) field->setEnabled(modelling);
  show_->setEnabled(!busy_ && !selected_computer().isEmpty());
}

void PolicyResultsWindow::reload() {
  if (busy_) return;
  set_busy(true, "Reading the domain's OUs and computers...");
  using Result = Expected<Listing, StoreError>;
  pending_ = run_in_background<Result>(
      this,
      [admin = &admin_]() -> Result {
        auto nodes = admin->list_tree();
        if (!nodes) return unexpected(nodes.error());
        auto containers = admin->list_containers();
        if (!containers) return unexpected(containers.error());
        return Listing{std::move(nodes).value(), std::move(containers).value()};
      },
      [this](Result result) {
        set_busy(false, {});
        if (!result) {
          last_error_ = result.error().to_text();
          status_->setText("Cannot list the computers: " + last_error_);
          statusBar()->showMessage("Cannot list the computers", kStatusMessageMs);
          emit loaded();
          return;
        }
        fill_tree(result->nodes);
        placement_->clear();
        site_->clear();
        site_->addItem("(as found)", QString());
        site_->setItemData(0, "The computer's msDS-SiteName, else the site of the subnet that holds its DNS name's address",
                           Qt::ToolTipRole);
        for (const auto& node : result->nodes) {
          if (node.kind != DirectoryNode::Kind::kComputer) placement_->addItem(node.dn, node.dn);
        }
        for (const auto& container : result->containers) {
          if (container.kind == ContainerSummary::Kind::kSite) site_->addItem(container.dn, container.dn);
        }
        int computers = 0;
        for (const auto& node : result->nodes) computers += node.kind == DirectoryNode::Kind::kComputer ? 1 : 0;
        status_->setText(QString("%1 computers; choose one and Show Results").arg(computers));
        update_state();
        emit loaded();
      });
}

void PolicyResultsWindow::fill_tree(const std::vector<DirectoryNode>& nodes) {
  tree_model_->clear();
  std::vector<const DirectoryNode*> ordered;
  for (const auto& node : nodes) ordered.push_back(&node);
  const auto depth = [](const DirectoryNode* node) {
    const auto rdns = gpo::split_dn(node->dn.toStdString());
    return rdns ? rdns->size() : 0;
  };
  std::stable_sort(ordered.begin(), ordered.end(), [&](auto* a, auto* b) { return depth(a) < depth(b); });
  std::map<std::string, QStandardItem*> items;
  const QIcon folder = style()->standardIcon(QStyle::SP_DirIcon);
  const QIcon computer = style()->standardIcon(QStyle::SP_ComputerIcon);
  const QIcon domain = style()->standardIcon(QStyle::SP_DriveNetIcon);
  for (const auto* node : ordered) {
    const bool is_computer = node->kind == DirectoryNode::Kind::kComputer;
    auto* item = new QStandardItem(node->kind == DirectoryNode::Kind::kDomain ? node->dn : node->name);
    item->setEditable(false);
    item->setIcon(is_computer ? computer : node->kind == DirectoryNode::Kind::kDomain ? domain : folder);
    item->setData(node->dn, kDnRole);
    item->setData(static_cast<int>(node->kind), kKindRole);
    // Only computers match a search; their OUs stay visible through recursive filtering.
    item->setData(is_computer ? node->name + " " + node->account + " " + node->dns_name + " " + node->dn : QString("\x01"),
                  kSearchRole);
    item->setToolTip(is_computer ? node->dn + "\n" + node->account + (node->dns_name.isEmpty() ? "" : "\n" + node->dns_name)
                                 : node->dn);
    const auto parent = items.find(gpo::normalize_dn(node->parent_dn.toStdString()));
    if (parent != items.end()) parent->second->appendRow(item);
    else tree_model_->appendRow(item);
    items[gpo::normalize_dn(node->dn.toStdString())] = item;
  }
  tree_->expandToDepth(1);
}

bool PolicyResultsWindow::select_computer(const QString& name) {
  const auto matches = tree_proxy_->match(tree_proxy_->index(0, 0), kSearchRole, name, -1,
                                          Qt::MatchContains | Qt::MatchRecursive);
  for (const auto& index : matches) {
    if (index.data(kKindRole).toInt() != static_cast<int>(DirectoryNode::Kind::kComputer)) continue;
    tree_->setCurrentIndex(index);
    tree_->scrollTo(index);
    update_state();
    return true;
  }
  return false;
}

QString PolicyResultsWindow::selected_computer() const {
  const auto index = tree_->currentIndex();
  if (!index.isValid() || index.data(kKindRole).toInt() != static_cast<int>(DirectoryNode::Kind::kComputer)) return {};
  return index.data(kDnRole).toString();
}

void PolicyResultsWindow::show_results() {
  const QString computer = selected_computer();
  if (busy_ || computer.isEmpty()) return;
  ResultsRequest request{computer, {}, {}, {}};
  if (model_->isChecked()) {
    request.placement_dn = placement_->currentData().toString();
    // The first item is "as found"; a listed site gives its DN; anything else typed is a DN.
    QString site;
    const int listed = site_->findText(site_->currentText());
    if (listed > 0) site = site_->itemData(listed).toString();
    else if (listed < 0) site = site_->currentText().trimmed();
    request.site_dn = site;
    request.address = address_->text().trimmed();
  }
  set_busy(true, "Computing the policy results of " + computer + "...");
  using Result = Expected<ComputerResults, StoreError>;
  pending_ = run_in_background<Result>(
      this, [admin = &admin_, request]() { return admin->policy_results(request); },
      [this](Result result) {
        set_busy(false, {});
        if (!result) {
          last_error_ = result.error().to_text();
          status_->setText(last_error_);
          statusBar()->showMessage("Cannot compute the policy results", kStatusMessageMs);
          emit answered();
          return;
        }
        last_error_.clear();
        fill_results(*result);
        results_ = std::move(result).value();
        emit answered();
      });
}

void PolicyResultsWindow::fill_results(const ComputerResults& answer) {
  const auto& results = answer.results;
  const auto policy_name = [&](const std::optional<std::string>& dn) -> QString {
    if (!dn || dn->empty()) return {};
    const auto found = answer.policy_names.find(gpo::normalize_dn(*dn));
    return found == answer.policy_names.end() ? qs(*dn) : found->second;
  };
  if (results.winner) {
    winner_->setText("IPsec policy: " + policy_name(results.winner->policy_dn) + "  —  from GPO " +
                     qs(results.winner->gpo_display_name) + ", linked at " + qs(results.winner->som_dn));
  } else {
    winner_->setText("No IPsec policy: no GPO that applies assigns one (the agent enforces none)");
  }
  winner_->setToolTip(results.winner ? qs(results.winner->policy_dn) : QString());
  QString computer = qs(results.computer_dn);
  if (!results.account.empty()) computer += "  (" + qs(results.account) + ")";
  if (results.modelled) computer += "\nmodelled as if in " + qs(results.container_dn);
  computer_->setText(computer);
  directory_->setText(qs(results.directory));
  site_label_->setText(results.site.dn.empty() ? QString("(none)") : qs(results.site.dn) + "  (" + qs(results.site.from) + ")");
  filtering_->setText(results.security_filtering
                          ? "evaluated: each GPO's DACL against the computer's account and groups (Read, Apply Group Policy)"
                          : "none: this directory keeps no security descriptors on GPOs (every GPO in scope applies)");

  soms_model_->removeRows(0, soms_model_->rowCount());
  for (const auto& som : results.soms) {
    soms_model_->appendRow({text_item(qs(som.dn)), text_item(qs(std::string(gpo::som_kind_name(som.kind)))),
                            text_item(QString::number(som.links)), text_item(yes_no(som.block_inheritance))});
  }

  // Applied GPOs first, precedence 1 (the strongest) at the top; then those that did not apply.
  std::vector<const gpo::GpoResult*> rows;
  for (const auto& gpo : results.gpos) rows.push_back(&gpo);
  std::stable_sort(rows.begin(), rows.end(), [](auto* a, auto* b) {
    if (a->applied != b->applied) return a->applied;
    return a->applied && a->precedence < b->precedence;
  });
  gpos_model_->removeRows(0, gpos_model_->rowCount());
  const QColor dimmed = palette().color(QPalette::Disabled, QPalette::Text);
  for (const auto* gpo : rows) {
    QList<QStandardItem*> row{
        text_item(gpo->applied ? QString::number(gpo->precedence) : QString("—")),
        text_item(gpo->name.empty() ? qs(gpo->dn) : qs(gpo->name)),
        text_item(gpo->applied ? "Applied" : "Not applied"),
        text_item(qs(gpo->note)),
        text_item(policy_name(gpo->ipsec_policy_dn)),
        text_item(qs(gpo->som_dn) + "  (" + qs(std::string(gpo::som_kind_name(gpo->som_kind))) + ")"),
        text_item(gpo->link_order > 0 ? QString::number(gpo->link_order) : QString()),
        text_item(yes_no(gpo->enforced)),
        text_item(yes_no(gpo->link_enabled))};
    row[kName]->setToolTip(qs(gpo->dn));
    for (auto* item : row) {
      if (gpo->wins) {
        QFont font = item->font();
        font.setBold(true);
        item->setFont(font);
      }
      if (!gpo->applied) item->setForeground(dimmed);
    }
    gpos_model_->appendRow(row);
  }
  soms_view_->resizeColumnsToContents();
  gpos_view_->resizeColumnsToContents();
  constexpr int kWidestWhy = 560;  // longer reasons (security filtering's) are in the tooltip
  if (gpos_view_->columnWidth(kWhy) > kWidestWhy) gpos_view_->setColumnWidth(kWhy, kWidestWhy);
  // The scopes of management are a handful of rows: no more room than they need.
  soms_view_->setMaximumHeight(soms_view_->horizontalHeader()->height() + 2 * soms_view_->frameWidth() +
                               soms_view_->verticalHeader()->length() + 2);
  status_->setText(QString("%1 GPO links, %2 applied; %3 LDAP round trips")
                       .arg(results.gpos.size())
                       .arg(std::count_if(results.gpos.begin(), results.gpos.end(), [](const auto& g) { return g.applied; }))
                       .arg(results.round_trips));
}

}  // namespace ward::gui
