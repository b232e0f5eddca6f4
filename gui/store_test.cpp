// JsonFolderStore on a real temporary folder, and the private-file writer under it.
#include <sys/stat.h>

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include "directory/model/policy_json.h"
#include "gui/json_folder_store.h"
#include "directory/model/fresh_ids.h"
#include "gui/private_file.h"
#include "gui/test_support.h"

using namespace ward;
using namespace ward::gui;

namespace {
unsigned mode_of(const QString& path) {
  struct stat info {};
  if (::stat(path.toLocal8Bit().constData(), &info) != 0) return 0;
  return info.st_mode & 07777;
}
}  // namespace

class StoreTest : public QObject {
  Q_OBJECT

 private slots:
  void saves_lists_loads_and_removes() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    JsonFolderStore store(dir.path());
    auto policy = testing::load_example("legal-policy.json");
    policy.rules[0].auth_methods = {model::AuthMethod::preshared("a preshared key long enough")};
    QVERIFY(!store.save(policy));

    const QString path = store.path_for(policy.id);
    QVERIFY(path.endsWith("/ffb80a58-8e3e-49d6-b37d-3e545e1cd1de.json"));
    QCOMPARE(mode_of(path), 0600U);

    auto listed = store.list();
    QVERIFY(listed);
    QCOMPARE(listed->size(), std::size_t{1});
    QCOMPARE(listed->front().name, QString("Communication for the Legal Department"));
    QCOMPARE(listed->front().rule_count, 2);
    QVERIFY(listed->front().assignment.isEmpty());

    auto loaded = store.load(policy.id);
    QVERIFY(loaded);
    QVERIFY(*loaded == policy);

    QVERIFY(!store.remove(policy.id));
    QVERIFY(!QFile::exists(path));
    QVERIFY(store.list()->empty());
    const auto again = store.remove(policy.id);
    QVERIFY(again);
    QVERIFY(again->where == path);
  }

  void a_renamed_file_is_found_by_its_id() {
    QTemporaryDir dir;
    const auto policy = testing::load_example("legal-policy.json");
    const QString renamed = dir.filePath("legal.json");
    QVERIFY(!write_private_file(renamed, model::policy_to_json(policy)));
    JsonFolderStore store(dir.path());
    QVERIFY(store.list());
    QVERIFY(store.load(policy.id));
    QVERIFY(!store.save(policy));
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files).size(), 1);  // saved over legal.json
  }

  void unreadable_files_are_listed_with_the_reason() {
    QTemporaryDir dir;
    QFile broken(dir.filePath("broken.json"));
    QVERIFY(broken.open(QIODevice::WriteOnly));
    broken.write(R"({"format": "ward-policy/1"})");
    broken.close();
    JsonFolderStore store(dir.path());
    const auto listed = store.list();
    QVERIFY(listed);
    QCOMPARE(listed->size(), std::size_t{1});
    QCOMPARE(listed->front().name, QString("broken.json"));
    QVERIFY2(!listed->front().load_problem.isEmpty(), "a broken file must say why");
  }

  void errors_name_the_folder_or_file() {
    QTemporaryDir dir;
    const QString not_a_folder = dir.filePath("file");
    QFile file(not_a_folder);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.close();
    JsonFolderStore store(not_a_folder);
    const auto listed = store.list();
    QVERIFY(!listed);
    QCOMPARE(listed.error().where, not_a_folder);
    QCOMPARE(listed.error().detail, QString("not a folder"));
    QVERIFY(store.save(testing::load_example("legal-policy.json")));

    JsonFolderStore good(dir.path());
    const auto missing = good.load(model::Guid::random());
    QVERIFY(!missing);
    QVERIFY(missing.error().to_text().contains(dir.path()));
  }

  void private_file_replaces_a_readable_file_with_a_0600_one() {
    QTemporaryDir dir;
    const QString path = dir.filePath("export.json");
    QFile existing(path);
    QVERIFY(existing.open(QIODevice::WriteOnly));
    existing.write("old");
    existing.close();
    QVERIFY(::chmod(path.toLocal8Bit().constData(), 0644) == 0);
    QVERIFY(!write_private_file(path, "new content"));
    QCOMPARE(mode_of(path), 0600U);
    QVERIFY(existing.open(QIODevice::ReadOnly));
    QCOMPARE(existing.readAll(), QByteArray("new content"));
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files).size(), 1);  // no temporary file left behind
    const auto failure = write_private_file(dir.filePath("missing/x.json"), "x");
    QVERIFY(failure);
    QVERIFY2(failure->contains("missing/x.json"), qPrintable(*failure));
  }

  void fresh_ids_keep_references_consistent() {
    const auto policy = testing::load_example("legal-policy.json");
    const auto copy = model::with_fresh_ids(policy);
    QVERIFY(copy.id != policy.id);
    QVERIFY(copy.filter_lists[0].id != policy.filter_lists[0].id);
    QVERIFY(copy.rules[0].filter_list == copy.filter_lists[0].id);
    QVERIFY(copy.rules[1].filter_action == copy.filter_actions[1].id);
    QVERIFY(model::validate(copy).empty());
    auto aligned = copy;
    testing::align_ids(aligned, policy);
    QVERIFY(aligned == policy);
  }
};

QTEST_MAIN(StoreTest)
#include "store_test.moc"
