#include "gui/json_folder_store.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include "directory/model/policy_json.h"
#include "gui/private_file.h"

namespace ward::gui {

namespace {

Expected<std::string, StoreError> read_file(const QString& path) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) return unexpected(StoreError{"cannot open policy file", path, file.errorString()});
  const QByteArray bytes = file.readAll();
  if (file.error() != QFileDevice::NoError) return unexpected(StoreError{"cannot read policy file", path, file.errorString()});
  return bytes.toStdString();
}

QString problems_text(const std::vector<model::Problem>& problems) {
  QString text = QString::fromStdString(problems.front().to_string());
  if (problems.size() > 1) text += QString(" (and %1 more)").arg(problems.size() - 1);
  return text;
}

}  // namespace

JsonFolderStore::JsonFolderStore(QString folder) : folder_(std::move(folder)) {}

QString JsonFolderStore::location() const { return "JSON folder " + folder_; }

QString JsonFolderStore::path_for(const model::Guid& id) const {
  const auto text = QString::fromStdString(id.to_string());
  return QDir(folder_).filePath(text.mid(1, text.size() - 2).toLower() + ".json");
}

QString JsonFolderStore::existing_path(const model::Guid& id) const {
  const auto it = paths_.find(id);
  return it == paths_.end() ? path_for(id) : it->second;
}

Expected<std::vector<PolicySummary>, StoreError> JsonFolderStore::list() {
  const QDir dir(folder_);
  if (!QFileInfo(folder_).isDir()) return unexpected(StoreError{"cannot list policies", folder_, "not a folder"});
  paths_.clear();
  std::vector<PolicySummary> summaries;
  for (const QFileInfo& entry : dir.entryInfoList({"*.json"}, QDir::Files, QDir::Name)) {
    PolicySummary summary;
    const auto text = read_file(entry.filePath());
    if (!text) {
      summary.name = entry.fileName();
      summary.load_problem = text.error().detail;
      summaries.push_back(summary);
      continue;
    }
    auto policy = model::policy_from_json(*text);
    if (!policy) {
      summary.name = entry.fileName();
      summary.load_problem = problems_text(policy.error());
      summaries.push_back(summary);
      continue;
    }
    summary.id = policy->id;
    summary.name = QString::fromStdString(policy->name);
    summary.description = QString::fromStdString(policy->description);
    summary.rule_count = static_cast<int>(policy->rules.size());
    paths_[policy->id] = entry.filePath();
    summaries.push_back(summary);
  }
  return summaries;
}

Expected<model::Policy, StoreError> JsonFolderStore::load(const model::Guid& id) {
  const QString path = existing_path(id);
  auto text = read_file(path);
  if (!text) return unexpected(text.error());
  auto policy = model::policy_from_json(*text);
  if (!policy) return unexpected(StoreError{"policy file is not valid ward-policy/1 JSON", path, problems_text(policy.error())});
  if (policy->id != id) {
    return unexpected(StoreError{"policy file holds another policy", path,
                                 "expected " + QString::fromStdString(id.to_string()) + ", found " +
                                     QString::fromStdString(policy->id.to_string())});
  }
  return std::move(policy).value();
}

std::optional<StoreError> JsonFolderStore::save(const model::Policy& policy) {
  if (!QFileInfo(folder_).isDir()) return StoreError{"cannot save policy", folder_, "not a folder"};
  const QString path = existing_path(policy.id);
  if (auto failure = write_private_file(path, model::policy_to_json(policy, model::SecretHandling::Include))) {
    return StoreError{"cannot save policy", path, *failure};
  }
  paths_[policy.id] = path;
  return std::nullopt;
}

std::optional<StoreError> JsonFolderStore::remove(const model::Guid& id) {
  const QString path = existing_path(id);
  QFile file(path);
  if (!file.remove()) return StoreError{"cannot delete policy file", path, file.errorString()};
  paths_.erase(id);
  return std::nullopt;
}

}  // namespace ward::gui
