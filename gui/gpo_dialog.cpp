#include "gui/gpo_dialog.h"

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

QString gpo_text(const GpoSummary& gpo) {
  QString text = gpo.name.isEmpty() ? gpo.dn : gpo.name;
  if (!gpo.assigned_policy.isEmpty()) text += "  [assigns " + gpo.assigned_policy + "]";
  return text;
}

// A linked container's DN without the " (link disabled)" note the store adds for display.
QString strip_link_note(QString where) {
  const auto note = where.indexOf(" (link disabled)");
  if (note >= 0) where.truncate(note);
  return where;
}

}  // namespace

GpoDialog::GpoDialog(Mode mode, std::vector<GpoSummary> gpos, QStringList containers, const QString& subject,
                     QWidget* parent)
    : QDialog(parent), mode_(mode), buttons_(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this)) {
  auto* layout = new QVBoxLayout(this);
  auto* form = new QFormLayout;
  layout->addLayout(form);
  const auto add_gpo_combo = [&](const QString& label) {
    gpo_ = new QComboBox(this);
    gpo_->setObjectName("gpo");
    for (const auto& gpo : gpos) gpo_->addItem(gpo_text(gpo), gpo.dn);
    auto* text = new QLabel(label, this);
    text->setBuddy(gpo_);
    form->addRow(text, gpo_);
  };

  switch (mode) {
    case Mode::Assign: {
      setWindowTitle("Assign Policy to GPO");
      form->addRow(new QLabel("Assign the policy \"" + subject + "\" to:", this));
      existing_ = new QRadioButton("An &existing GPO", this);
      existing_->setObjectName("existing");
      form->addRow(existing_);
      add_gpo_combo("&GPO:");
      new_ = new QRadioButton("A &new GPO", this);
      new_->setObjectName("new");
      form->addRow(new_);
      new_name_ = new QLineEdit(this);
      new_name_->setObjectName("new_gpo_name");
      auto* name_label = new QLabel("N&ame:", this);
      name_label->setBuddy(new_name_);
      form->addRow(name_label, new_name_);
      (gpos.empty() ? new_ : existing_)->setChecked(true);
      connect(existing_, &QRadioButton::toggled, this, &GpoDialog::update_state);
      connect(new_name_, &QLineEdit::textChanged, this, &GpoDialog::update_state);
      buttons_->button(QDialogButtonBox::Ok)->setText("A&ssign");
      break;
    }
    case Mode::Link: {
      setWindowTitle("Link GPO");
      add_gpo_combo("&GPO:");
      container_ = new QComboBox(this);
      container_->setObjectName("container");
      container_->setEditable(true);  // a site in another naming context can be typed in
      container_->addItems(containers);
      auto* label = new QLabel("Link &to (domain, OU or site DN):", this);
      label->setBuddy(container_);
      form->addRow(label, container_);
      connect(container_, &QComboBox::currentTextChanged, this, &GpoDialog::update_state);
      buttons_->button(QDialogButtonBox::Ok)->setText("&Link");
      break;
    }
    case Mode::Unlink: {
      setWindowTitle("Unlink GPO");
      link_ = new QComboBox(this);
      link_->setObjectName("link");
      for (const auto& gpo : gpos) {
        for (const auto& where : gpo.linked_to) {
          link_->addItem((gpo.name.isEmpty() ? gpo.dn : gpo.name) + "  →  " + where,
                         QStringList{gpo.dn, strip_link_note(where)});
        }
      }
      auto* label = new QLabel("&Link to remove:", this);
      label->setBuddy(link_);
      form->addRow(label, link_);
      buttons_->button(QDialogButtonBox::Ok)->setText("&Unlink");
      break;
    }
  }
  layout->addWidget(buttons_);
  connect(buttons_, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons_, &QDialogButtonBox::rejected, this, &QDialog::reject);
  update_state();
  setMinimumWidth(kMinimumWidth);
}

void GpoDialog::update_state() {
  bool ok = true;
  switch (mode_) {
    case Mode::Assign:
      gpo_->setEnabled(existing_->isChecked());
      new_name_->setEnabled(new_->isChecked());
      ok = existing_->isChecked() ? gpo_->count() > 0 : !new_name_->text().trimmed().isEmpty();
      break;
    case Mode::Link: ok = gpo_->count() > 0 && !container_->currentText().trimmed().isEmpty(); break;
    case Mode::Unlink: ok = link_->count() > 0; break;
  }
  buttons_->button(QDialogButtonBox::Ok)->setEnabled(ok);
}

QString GpoDialog::gpo_dn() const {
  if (mode_ == Mode::Unlink) return link_->currentData().toStringList().value(0);
  if (mode_ == Mode::Assign && new_->isChecked()) return {};
  return gpo_->currentData().toString();
}

QString GpoDialog::new_gpo_name() const {
  return mode_ == Mode::Assign && new_->isChecked() ? new_name_->text().trimmed() : QString();
}

QString GpoDialog::container_dn() const {
  if (mode_ == Mode::Unlink) return link_->currentData().toStringList().value(1);
  if (mode_ == Mode::Link) return container_->currentText().trimmed();
  return {};
}

}  // namespace ward::gui
