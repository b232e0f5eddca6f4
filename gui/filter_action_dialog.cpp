#include "gui/filter_action_dialog.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QRadioButton>
#include <QVBoxLayout>

#include "gui/display_text.h"
#include "gui/list_editor.h"
#include "gui/security_method_dialog.h"
#include "gui/security_methods_model.h"
#include "gui/usage.h"

namespace ward::gui {

using model::ActionKind;

FilterActionDialog::FilterActionDialog(const model::FilterAction& action, const QStringList& used_by, QWidget* parent)
    : QDialog(parent), action_(action), name_(new QLineEdit(this)), description_(new QLineEdit(this)),
      used_by_(new QLabel(used_by_text(used_by), this)), permit_(new QRadioButton("&Permit", this)),
      block_(new QRadioButton("&Block", this)), negotiate_(new QRadioButton("Ne&gotiate security", this)),
      model_(new SecurityMethodsModel(this)), methods_(new ListEditor(model_, ListEditor::Ordering::Ordered, this)),
      accept_unsecured_(new QCheckBox("A&ccept unsecured communication, but always respond using IPsec", this)),
      fallback_(new QCheckBox("A&llow fallback to unsecured communication with non-IPsec-aware computers", this)),
      pfs_(new QCheckBox("Session key perfect forward secrecy (PF&S)", this)), error_(new QLabel(this)) {
  setWindowTitle("Filter Action");
  name_->setObjectName("name");
  description_->setObjectName("description");
  used_by_->setObjectName("used_by");
  used_by_->setWordWrap(true);
  methods_->setObjectName("security_methods");
  accept_unsecured_->setObjectName("accept_unsecured");
  fallback_->setObjectName("fallback_to_unsecured");
  pfs_->setObjectName("quick_mode_pfs");
  error_->setStyleSheet("color: #a00000");
  error_->hide();

  name_->setText(qs(action.name));
  description_->setText(qs(action.description));
  permit_->setChecked(action.kind == ActionKind::Permit);
  block_->setChecked(action.kind == ActionKind::Block);
  negotiate_->setChecked(action.kind == ActionKind::Negotiate);
  model_->set_items(action.security_methods);
  accept_unsecured_->setChecked(action.accept_unsecured);
  fallback_->setChecked(action.fallback_to_unsecured);
  pfs_->setChecked(action.quick_mode_pfs);

  auto* form = new QFormLayout;
  form->addRow("&Name:", name_);
  form->addRow("&Description:", description_);
  form->addRow(used_by_);
  auto* kind_row = new QHBoxLayout;
  kind_row->addWidget(permit_);
  kind_row->addWidget(block_);
  kind_row->addWidget(negotiate_);
  kind_row->addStretch();
  auto* methods_box = new QGroupBox("Security &methods, in order of preference", this);
  auto* methods_layout = new QVBoxLayout(methods_box);
  methods_layout->addWidget(methods_, 1);
  methods_layout->addWidget(accept_unsecured_);
  methods_layout->addWidget(fallback_);
  methods_layout->addWidget(pfs_);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  connect(buttons, &QDialogButtonBox::accepted, this, &FilterActionDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addLayout(kind_row);
  layout->addWidget(methods_box, 1);
  layout->addWidget(error_);
  layout->addWidget(buttons);

  for (auto* radio : {permit_, block_, negotiate_}) connect(radio, &QRadioButton::toggled, this, [this] { update_fields(); });
  connect(methods_, &ListEditor::add_requested, this, [this] {
    SecurityMethodDialog dialog(model::SecurityMethod{std::nullopt, model::EspTransform{}}, this);
    if (dialog.exec() != QDialog::Accepted) return;
    auto methods = model_->items();
    methods.push_back(dialog.method());
    set_methods(std::move(methods), model_->rowCount());
  });
  connect(methods_, &ListEditor::edit_requested, this, [this](int row) {
    auto methods = model_->items();
    SecurityMethodDialog dialog(methods.at(static_cast<std::size_t>(row)), this);
    if (dialog.exec() != QDialog::Accepted) return;
    methods[static_cast<std::size_t>(row)] = dialog.method();
    set_methods(std::move(methods), row);
  });
  connect(methods_, &ListEditor::remove_requested, this, [this](int row) {
    auto methods = model_->items();
    methods.erase(methods.begin() + row);
    set_methods(std::move(methods), row);
  });
  connect(methods_, &ListEditor::move_requested, this, [this](int row, int to) {
    auto methods = model_->items();
    std::swap(methods[static_cast<std::size_t>(row)], methods[static_cast<std::size_t>(to)]);
    set_methods(std::move(methods), to);
  });
  update_fields();
  resize(760, 520);
}

void FilterActionDialog::set_methods(std::vector<model::SecurityMethod> methods, int select) {
  model_->set_items(std::move(methods));
  methods_->select_row(select);
}

void FilterActionDialog::update_fields() {
  const bool negotiate = negotiate_->isChecked();
  for (QWidget* widget : {static_cast<QWidget*>(methods_), static_cast<QWidget*>(accept_unsecured_),
                          static_cast<QWidget*>(fallback_), static_cast<QWidget*>(pfs_)}) {
    widget->setEnabled(negotiate);
  }
}

void FilterActionDialog::accept() {
  const auto kind = permit_->isChecked() ? ActionKind::Permit : block_->isChecked() ? ActionKind::Block : ActionKind::Negotiate;
  QString problem;
  if (name_->text().trimmed().isEmpty()) problem = "A filter action needs a name.";
  else if (kind == ActionKind::Negotiate && model_->items().empty()) problem = "Negotiating security needs at least one security method.";
  if (!problem.isEmpty()) {
    error_->setText(problem);
    error_->show();
    return;
  }
  if (action_.id.is_nil()) action_.id = model::Guid::random();
  action_.name = name_->text().trimmed().toStdString();
  action_.description = description_->text().toStdString();
  action_.kind = kind;
  // Settings that only negotiation uses are dropped for permit and block, so validation stays quiet.
  const bool negotiate = kind == ActionKind::Negotiate;
  action_.security_methods = negotiate ? model_->items() : std::vector<model::SecurityMethod>{};
  action_.accept_unsecured = negotiate && accept_unsecured_->isChecked();
  action_.fallback_to_unsecured = negotiate && fallback_->isChecked();
  action_.quick_mode_pfs = negotiate && pfs_->isChecked();
  QDialog::accept();
}

}  // namespace ward::gui
