// nftables over netlink (libnftnl builds the messages, libmnl carries them): a batch of changes
// the kernel applies as one transaction or not at all, and the few expressions Ward's rules use.
// The socket belongs to the network namespace it was opened in, whatever thread uses it later.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/expected.h"

struct mnl_socket;
struct nlmsghdr;
struct nftnl_rule;
struct nftnl_set;
struct nftnl_set_elem;

namespace ward::driver::nft {

// 32-bit registers (NFT_REG32_00 and up): a concatenated key spans consecutive ones.
inline constexpr std::uint32_t kReg32First = 8;
inline constexpr std::uint32_t kRegVerdict = 0;

struct RuleDeleter {
  void operator()(nftnl_rule* rule) const noexcept;
};
struct SetDeleter {
  void operator()(nftnl_set* set) const noexcept;
};
using RulePtr = std::unique_ptr<nftnl_rule, RuleDeleter>;
using SetPtr = std::unique_ptr<nftnl_set, SetDeleter>;

// A rule under construction in `table`/`chain` of the inet family.
class RuleBuilder {
 public:
  RuleBuilder(const std::string& table, const std::string& chain);
  RuleBuilder& meta_load(std::uint32_t key, std::uint32_t dreg);
  RuleBuilder& payload_load(std::uint32_t base, std::uint32_t offset, std::uint32_t length, std::uint32_t dreg);
  RuleBuilder& cmp(std::uint32_t sreg, std::uint32_t op, std::span<const std::uint8_t> data);
  RuleBuilder& bitwise(std::uint32_t reg, std::span<const std::uint8_t> mask);  // reg &= mask
  RuleBuilder& lookup(std::uint32_t sreg, const std::string& set, bool verdict_map);
  // Extension headers and options (NFT_EXHDR_OP_IPV6 with the header type, NFT_EXTHDR_OP_TCPOPT
  // with the option kind). A load finds nothing when the header is absent: the rule does not match.
  RuleBuilder& exthdr_load(std::uint32_t op, std::uint8_t type, std::uint32_t offset, std::uint32_t length, std::uint32_t dreg);
  RuleBuilder& exthdr_store(std::uint32_t op, std::uint8_t type, std::uint32_t offset, std::uint32_t length, std::uint32_t sreg);
  RuleBuilder& immediate_data(std::uint32_t dreg, std::span<const std::uint8_t> data);
  RuleBuilder& verdict(int code, const std::string& chain = {});  // NF_ACCEPT, NF_DROP, NFT_JUMP, NFT_GOTO
  RuleBuilder& queue(std::uint16_t first, std::uint16_t count);
  RuleBuilder& counter();
  RulePtr take() { return std::move(rule_); }

 private:
  RulePtr rule_;
};

// Messages of one transaction. Each message is described, so that an error the kernel reports for
// it names what was refused.
class Batch {
 public:
  Batch();
  void add_table(const std::string& table);
  void delete_table(const std::string& table);
  // A base chain when `hook` is set (NF_INET_*), with `priority` and policy accept.
  void add_chain(const std::string& table, const std::string& chain, std::optional<std::uint32_t> hook = std::nullopt, int priority = 0);
  void flush_chain(const std::string& table, const std::string& chain);
  void delete_chain(const std::string& table, const std::string& chain);
  void add_set(nftnl_set& set, const std::string& what);
  void delete_set(const std::string& table, const std::string& set);
  // The set's elements, split into messages the size netlink attributes allow.
  void add_elements(nftnl_set& set, const std::string& what);
  void add_rule(nftnl_rule& rule, const std::string& what);

  // The transaction's bytes (begin, messages, end) and the description of the message with `seq`.
  std::span<const char> finish();
  std::string describe(std::uint32_t seq) const;
  std::uint32_t first_seq() const noexcept { return first_seq_; }
  std::size_t message_count() const noexcept { return descriptions_.size(); }

 private:
  char* reserve(std::size_t bytes);
  void commit_message(const std::string& what);
  std::uint32_t next_seq() const noexcept { return first_seq_ + static_cast<std::uint32_t>(descriptions_.size()) + 1; }

  std::vector<char> buffer_;
  std::size_t used_ = 0;
  std::uint32_t first_seq_;
  std::vector<std::string> descriptions_;
  bool finished_ = false;
};

// A netlink socket for nftables in the calling thread's network namespace.
class Socket {
 public:
  static Expected<std::unique_ptr<Socket>, std::string> open();
  ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // Sends the batch and waits until the kernel has answered every message: committed, or
  // refused as a whole with the first error named.
  Expected<void, std::string> commit(Batch& batch);
  // Dumps the elements of `set` in `table` (inet), calling `each` with every element.
  Expected<void, std::string> dump_elements(const std::string& table, const std::string& set,
                                            const std::function<void(nftnl_set_elem&)>& each);
  // Whether `table` (inet) exists.
  Expected<bool, std::string> has_table(const std::string& table);

 private:
  explicit Socket(mnl_socket* socket);
  Expected<void, std::string> receive_until(std::uint32_t last_seq, const std::function<int(const ::nlmsghdr*)>& each,
                                            std::string* first_error, const Batch* batch);

  mnl_socket* socket_;
  unsigned port_id_;
  std::uint32_t seq_;
};

// The 32-bit big-endian bytes of a value (for cmp and immediate data).
std::vector<std::uint8_t> be16(std::uint16_t value);
std::vector<std::uint8_t> be32(std::uint32_t value);

}  // namespace ward::driver::nft
