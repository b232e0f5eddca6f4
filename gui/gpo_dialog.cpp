#include "gui/gpo_dialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QVBoxLayout>

namespace ward::gui {

namespace {

constexpr int kMinimumWidth = 560;
constexpr int kGpoRole = Qt::UserRole;            // link combo: the GPO's DN
constexpr int kContainerRole = Qt::UserRole + 1;  // link combo: the container's DN
constexpr int kEnforcedRole = Qt::UserRole + 2;
constexpr int kEnabledRole = Qt::UserRole + 3;

QString gpo_text(const GpoSummary& gpo) {
  QString text = gpo.name.isEmpty() ? gpo.dn : gpo.name;
  if (!gpo.assigned_policy.isEmpty()) text += "  [assigns " + gpo.assigned_policy + "]";
  return text;
}

QString container_text(const ContainerSummary& container) {
  QString kind;
  switch (container.kind) {
    case ContainerSummary::Kind::kDomain: kind = "domain"; break;
    case ContainerSummary::Kind::kOrganizationalUnit: kind = "OU"; break;
    case ContainerSummary::Kind::kSite: kind = "site"; break;
  }
  return container.dn + "  (" + kind + (container.block_inheritance ? ", blocks inheritance" : "") + ")";
}

}  // namespace

GpoDialog::GpoDialog(Mode mode, std::vector<GpoSummary> gpos, std::vector<ContainerSummary> containers,
                     const QString& subject, QWidget* parent)
    : QDialog(parent), mode_(mode), gpos_(std::move(gpos)), containers_(std::move(containers)),
      buttons_(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this)) {
  auto* layout = new QVBoxLayout(this);
  auto* form = new QFormLayout;
  layout->addLayout(form);
  const auto add_gpo_combo = [&](const QString& label, bool only_assigning) {
    gpo_ = new QComboBox(this);
    gpo_->setObjectName("gpo");
    for (const auto& gpo : gpos_) {
      if (!only_assigning || !gpo.assigned_policy.isEmpty()) gpo_->addItem(gpo_text(gpo), gpo.dn);
    }
    auto* text = new QLabel(label, this);
    text->setBuddy(gpo_);
    form->addRow(text, gpo_);
  };
  const auto add_link_combo = [&](const QString& label) {
    link_ = new QComboBox(this);
    link_->setObjectName("link");
    for (const auto& gpo : gpos_) {
      for (const auto& link : gpo.links) {
        link_->addItem((gpo.name.isEmpty() ? gpo.dn : gpo.name) + "  →  " + link.container_dn +
                           (link.enforced ? "  (enforced)" : "") + (link.enabled ? "" : "  (link disabled)"));
        const int row = link_->count() - 1;
        link_->setItemData(row, gpo.dn, kGpoRole);
        link_->setItemData(row, link.container_dn, kContainerRole);
        link_->setItemData(row, link.enforced, kEnforcedRole);
        link_->setItemData(row, link.enabled, kEnabledRole);
      }
    }
    auto* text = new QLabel(label, this);
    text->setBuddy(link_);
    form->addRow(text, link_);
  };
  const auto add_container_combo = [&](const QString& label, bool editable, bool sites) {
    container_ = new QComboBox(this);
    container_->setObjectName("container");
    container_->setEditable(editable);  // a site in another naming context can be typed in
    for (const auto& container : containers_) {
      if (!sites && container.kind == ContainerSummary::Kind::kSite) continue;
      if (editable) container_->addItem(container.dn);
      else container_->addItem(container_text(container), container.dn);
    }
    auto* text = new QLabel(label, this);
    text->setBuddy(container_);
    form->addRow(text, container_);
  };

  switch (mode) {
    case Mode::Assign: {
      setWindowTitle("Assign Policy to GPO");
      form->addRow(new QLabel("Assign the policy \"" + subject + "\" to:", this));
      existing_ = new QRadioButton("An &existing GPO", this);
      existing_->setObjectName("existing");
      form->addRow(existing_);
      add_gpo_combo("&GPO:", false);
      new_ = new QRadioButton("A &new GPO", this);
      new_->setObjectName("new");
      form->addRow(new_);
      new_name_ = new QLineEdit(this);
      new_name_->setObjectName("new_gpo_name");
      auto* name_label = new QLabel("N&ame:", this);
      name_label->setBuddy(new_name_);
      form->addRow(name_label, new_name_);
      (gpos_.empty() ? new_ : existing_)->setChecked(true);
      connect(existing_, &QRadioButton::toggled, this, &GpoDialog::update_state);
      connect(new_name_, &QLineEdit::textChanged, this, &GpoDialog::update_state);
      buttons_->button(QDialogButtonBox::Ok)->setText("A&ssign");
      break;
    }
    case Mode::Unassign: {
      setWindowTitle("Remove IPsec Assignment");
      form->addRow(new QLabel("The GPO keeps its links; computers in its scope stop getting this IPsec policy from it.", this));
      add_gpo_combo("&GPO:", true);
      buttons_->button(QDialogButtonBox::Ok)->setText("&Remove Assignment");
      break;
    }
    case Mode::Link: {
      setWindowTitle("Link GPO");
      add_gpo_combo("&GPO:", false);
      add_container_combo("Link &to (domain, OU or site DN):", true, true);
      connect(container_, &QComboBox::currentTextChanged, this, &GpoDialog::update_state);
      buttons_->button(QDialogButtonBox::Ok)->setText("&Link");
      break;
    }
    case Mode::Unlink: {
      setWindowTitle("Unlink GPO");
      add_link_combo("&Link to remove:");
      buttons_->button(QDialogButtonBox::Ok)->setText("&Unlink");
      break;
    }
    case Mode::LinkOptions: {
      setWindowTitle("GPO Link Options");
      add_link_combo("&Link:");
      enforced_ = new QCheckBox("&Enforced", this);
      enforced_->setObjectName("enforced");
      link_enabled_ = new QCheckBox("Link e&nabled", this);
      link_enabled_->setObjectName("link_enabled");
      form->addRow(enforced_);
      auto* explanation = new QLabel("An enforced link applies even below an OU that blocks inheritance, and its GPO wins "
                                     "over those linked further down. A disabled link applies nowhere.", this);
      explanation->setWordWrap(true);
      form->addRow(explanation);
      form->addRow(link_enabled_);
      connect(link_, &QComboBox::currentIndexChanged, this, &GpoDialog::show_current_options);
      buttons_->button(QDialogButtonBox::Ok)->setText("&Apply");
      break;
    }
    case Mode::BlockInheritance: {
      setWindowTitle("Block Inheritance");
      add_container_combo("&Container (domain or OU):", false, false);
      block_ = new QCheckBox("&Block inheritance", this);
      block_->setObjectName("block_inheritance");
      form->addRow(block_);
      auto* explanation = new QLabel("GPOs linked to the site, the domain or the OUs above then apply here only when "
                                     "their link is enforced.", this);
      explanation->setWordWrap(true);
      form->addRow(explanation);
      connect(container_, &QComboBox::currentIndexChanged, this, &GpoDialog::show_current_options);
      buttons_->button(QDialogButtonBox::Ok)->setText("&Apply");
      break;
    }
  }
  note_ = new QLabel(this);
  note_->setObjectName("note");
  note_->setWordWrap(true);
  layout->addWidget(note_);
  layout->addWidget(buttons_);
  connect(buttons_, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons_, &QDialogButtonBox::rejected, this, &QDialog::reject);
  show_current_options();
  update_state();
  setMinimumWidth(kMinimumWidth);
}

void GpoDialog::show_current_options() {
  if (mode_ == Mode::LinkOptions && link_->count() > 0) {
    enforced_->setChecked(link_->currentData(kEnforcedRole).toBool());
    link_enabled_->setChecked(link_->currentData(kEnabledRole).toBool());
  }
  if (mode_ == Mode::BlockInheritance && container_->count() > 0) {
    const QString dn = container_->currentData().toString();
    for (const auto& container : containers_) {
      if (container.dn == dn) block_->setChecked(container.block_inheritance);
    }
  }
}

void GpoDialog::update_state() {
  bool ok = true;
  QString note;
  switch (mode_) {
    case Mode::Assign:
      gpo_->setEnabled(existing_->isChecked());
      new_name_->setEnabled(new_->isChecked());
      ok = existing_->isChecked() ? gpo_->count() > 0 : !new_name_->text().trimmed().isEmpty();
      break;
    case Mode::Unassign:
      ok = gpo_->count() > 0;
      if (!ok) note = "No GPO assigns an IPsec policy.";
      break;
    case Mode::Link: ok = gpo_->count() > 0 && !container_->currentText().trimmed().isEmpty(); break;
    case Mode::Unlink:
    case Mode::LinkOptions:
      ok = link_->count() > 0;
      if (!ok) note = "No GPO is linked anywhere.";
      break;
    case Mode::BlockInheritance: ok = container_->count() > 0; break;
  }
  note_->setText(note);
  note_->setVisible(!note.isEmpty());
  buttons_->button(QDialogButtonBox::Ok)->setEnabled(ok);
}

GpoChoice GpoDialog::choice() const {
  GpoChoice out{gpo_dn(), new_gpo_name(), container_dn(), false, true, false};
  if (enforced_) out.enforced = enforced_->isChecked();
  if (link_enabled_) out.link_enabled = link_enabled_->isChecked();
  if (block_) out.block_inheritance = block_->isChecked();
  return out;
}

QString GpoDialog::gpo_dn() const {
  if (link_) return link_->currentData(kGpoRole).toString();
  if (mode_ == Mode::Assign && new_->isChecked()) return {};
  return gpo_ ? gpo_->currentData().toString() : QString();
}

QString GpoDialog::new_gpo_name() const {
  return mode_ == Mode::Assign && new_->isChecked() ? new_name_->text().trimmed() : QString();
}

QString GpoDialog::container_dn() const {
  if (link_) return link_->currentData(kContainerRole).toString();
  if (mode_ == Mode::Link) return container_->currentText().trimmed();
  if (mode_ == Mode::BlockInheritance) return container_->currentData().toString();
  return {};
}

}  // namespace ward::gui
