#include "gui/connect_dialog.h"

#include <algorithm>

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QRegularExpression>
#include <QVBoxLayout>

#include "directory/ldap/kerberos_client.h"

namespace ward::gui {

namespace {
constexpr int kUriLines = 3;
}

ConnectDialog::ConnectDialog(QWidget* parent)
    : QDialog(parent), uris_(new QPlainTextEdit(this)), domain_(new QLineEdit(this)),
      simple_(new QRadioButton("&Simple bind (DN and password)", this)),
      kerberos_(new QRadioButton("&Kerberos (SASL/GSSAPI) from a keytab", this)),
      ticket_(new QRadioButton("Kerberos with &my ticket (after kinit; the credential cache in KRB5CCNAME)", this)),
      bind_dn_(new QLineEdit(this)),
      password_(new QLineEdit(this)), keytab_(new QLineEdit(this)), principal_(new QLineEdit(this)),
      start_tls_(new QCheckBox("Use Start&TLS (verify the server against the CA bundle)", this)),
      ca_file_(new QLineEdit(this)), sysvol_(new QLineEdit(this)), ticket_status_(new QLabel(this)),
      buttons_(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this)) {
  setWindowTitle("Connect to Directory");
  uris_->setObjectName("uris");
  uris_->setTabChangesFocus(true);
  uris_->setPlaceholderText("ldap://dc1.example.com\nldap://dc2.example.com");
  uris_->setFixedHeight(uris_->fontMetrics().lineSpacing() * (kUriLines + 1));
  domain_->setObjectName("domain");
  domain_->setPlaceholderText("DC=example,DC=com");
  bind_dn_->setObjectName("bind_dn");
  password_->setObjectName("password");
  password_->setEchoMode(QLineEdit::Password);
  keytab_->setObjectName("keytab");
  keytab_->setPlaceholderText("FILE:/etc/krb5.keytab");
  principal_->setObjectName("principal");
  principal_->setPlaceholderText("admin@EXAMPLE.COM");
  start_tls_->setObjectName("start_tls");
  ca_file_->setObjectName("ca_file");
  ca_file_->setPlaceholderText("/etc/ssl/certs/example-ca.pem");
  simple_->setObjectName("simple");
  kerberos_->setObjectName("kerberos_keytab");
  ticket_->setObjectName("kerberos_ticket");
  ticket_status_->setObjectName("ticket_status");
  ticket_status_->setWordWrap(true);
  sysvol_->setObjectName("sysvol");
  sysvol_->setPlaceholderText("optional: /var/lib/samba/sysvol, or where \\\\dc1\\SysVol is mounted");
  simple_->setChecked(true);

  auto* server = new QFormLayout;
  auto* uris_label = new QLabel("Ser&vers (one URI a line, tried in order):", this);
  uris_label->setBuddy(uris_);
  server->addRow(uris_label);
  server->addRow(uris_);
  auto* domain_label = new QLabel("&Domain DN:", this);
  domain_label->setBuddy(domain_);
  server->addRow(domain_label, domain_);

  auto* auth = new QGroupBox("Authentication", this);
  auto* auth_form = new QFormLayout(auth);
  auth_form->addRow(simple_);
  auto* dn_label = new QLabel("&Bind DN:", this);
  dn_label->setBuddy(bind_dn_);
  auth_form->addRow(dn_label, bind_dn_);
  auto* password_label = new QLabel("&Password:", this);
  password_label->setBuddy(password_);
  auth_form->addRow(password_label, password_);
  auth_form->addRow(kerberos_);
  auto* keytab_label = new QLabel("Ke&ytab:", this);
  keytab_label->setBuddy(keytab_);
  auth_form->addRow(keytab_label, keytab_);
  auth_form->addRow(ticket_);
  auth_form->addRow(ticket_status_);
  auto* principal_label = new QLabel("P&rincipal (optional with my ticket):", this);
  principal_label->setBuddy(principal_);
  auth_form->addRow(principal_label, principal_);

  auto* tls = new QGroupBox("Transport security", this);
  auto* tls_form = new QFormLayout(tls);
  tls_form->addRow(start_tls_);
  auto* ca_label = new QLabel("&CA bundle (StartTLS, ldaps://):", this);
  ca_label->setBuddy(ca_file_);
  tls_form->addRow(ca_label, ca_file_);

  auto* ad = new QGroupBox("Active Directory", this);
  auto* ad_form = new QFormLayout(ad);
  auto* sysvol_label = new QLabel("SysVol &folder:", this);
  sysvol_label->setBuddy(sysvol_);
  ad_form->addRow(sysvol_label, sysvol_);
  auto* sysvol_note = new QLabel("A GPO's files (GPT.INI) live on SYSVOL. Without a folder here they are written over SMB "
                                 "to the domain controller with your Kerberos ticket or keytab.", this);
  sysvol_note->setWordWrap(true);
  ad_form->addRow(sysvol_note);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(server);
  layout->addWidget(auth);
  layout->addWidget(tls);
  layout->addWidget(ad);
  layout->addWidget(buttons_);
  buttons_->button(QDialogButtonBox::Ok)->setText("C&onnect");

  connect(buttons_, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons_, &QDialogButtonBox::rejected, this, &QDialog::reject);
  for (auto* edit : {domain_, bind_dn_, password_, keytab_, principal_, ca_file_}) {
    connect(edit, &QLineEdit::textChanged, this, &ConnectDialog::update_state);
  }
  connect(uris_, &QPlainTextEdit::textChanged, this, &ConnectDialog::update_state);
  for (auto* choice : {simple_, kerberos_, ticket_}) {
    connect(choice, &QRadioButton::toggled, this, &ConnectDialog::update_state);
  }
  connect(ticket_, &QRadioButton::toggled, this, &ConnectDialog::update_ticket);
  connect(principal_, &QLineEdit::editingFinished, this, &ConnectDialog::update_ticket);
  connect(start_tls_, &QCheckBox::toggled, this, &ConnectDialog::update_state);
  setTabOrder(uris_, domain_);
  setTabOrder(domain_, simple_);
  setTabOrder(simple_, bind_dn_);
  setTabOrder(bind_dn_, password_);
  setTabOrder(password_, kerberos_);
  setTabOrder(kerberos_, keytab_);
  setTabOrder(keytab_, ticket_);
  setTabOrder(ticket_, principal_);
  setTabOrder(principal_, start_tls_);
  setTabOrder(start_tls_, ca_file_);
  setTabOrder(ca_file_, sysvol_);
  update_state();
  update_ticket();
  resize(520, sizeHint().height());
}

QStringList ConnectDialog::uris() const {
  return uris_->toPlainText().split(QRegularExpression("[\\s,]+"), Qt::SkipEmptyParts);
}

QString ConnectDialog::domain_dn() const { return domain_->text().trimmed(); }

QString ConnectDialog::sysvol_path() const { return sysvol_->text().trimmed(); }

// Whose ticket "Kerberos with my ticket" would use: read from the default credential cache (a
// local file or keyring lookup, no network).
void ConnectDialog::update_ticket() {
  ticket_status_->setVisible(ticket_->isChecked());
  if (!ticket_->isChecked()) return;
  const auto principal = ldap::default_ccache_principal(principal_->text().trimmed().toStdString());
  if (principal) {
    ticket_status_->setText("Your ticket: " + QString::fromStdString(*principal));
  } else {
    ticket_status_->setText("No usable ticket: " + QString::fromStdString(principal.error().message));
  }
}

void ConnectDialog::update_state() {
  const bool simple = simple_->isChecked();
  const bool keytab = kerberos_->isChecked();
  bind_dn_->setEnabled(simple);
  password_->setEnabled(simple);
  keytab_->setEnabled(keytab);
  principal_->setEnabled(!simple);
  const auto list = uris();
  bool complete = !list.isEmpty() && !domain_dn().isEmpty();
  if (simple) complete = complete && !bind_dn_->text().trimmed().isEmpty() && !password_->text().isEmpty();
  else if (keytab) complete = complete && !keytab_->text().trimmed().isEmpty() && !principal_->text().trimmed().isEmpty();
  // With my ticket nothing more is needed: the bind says "run kinit" when the cache is empty.
  const bool tls = start_tls_->isChecked() ||
                   std::any_of(list.begin(), list.end(), [](const QString& uri) { return uri.startsWith("ldaps://", Qt::CaseInsensitive); });
  if (tls) complete = complete && !ca_file_->text().trimmed().isEmpty();
  buttons_->button(QDialogButtonBox::Ok)->setEnabled(complete);
}

ldap::SessionOptions ConnectDialog::take_options() {
  ldap::SessionOptions options;
  for (const auto& uri : uris()) options.uris.push_back(uri.toStdString());
  if (simple_->isChecked()) {
    options.bind = ldap::SimpleBind{bind_dn_->text().trimmed().toStdString(), model::Secret(password_->text().toStdString())};
  } else if (kerberos_->isChecked()) {
    options.bind = ldap::GssapiBind{keytab_->text().trimmed().toStdString(), principal_->text().trimmed().toStdString()};
  } else {
    // An empty keytab: the default credential cache (the user's own ticket).
    options.bind = ldap::GssapiBind{"", principal_->text().trimmed().toStdString()};
  }
  // The password now lives only in the options; the field (and its undo history) forgets it.
  password_->clear();
  password_->setText({});
  if (start_tls_->isChecked()) options.tls = ldap::TlsMode::kStartTls;
  options.ca_file = ca_file_->text().trimmed().toStdString();  // StartTLS and ldaps:// URIs
  return options;
}

}  // namespace ward::gui
