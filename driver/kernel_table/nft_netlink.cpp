#include "driver/kernel_table/nft_netlink.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/xt_NFQUEUE.h>

#include "common/errno_text.h"

namespace ward::driver::nft {

namespace {

// One message: a set's elements are split so that their nested attribute stays below 64 KiB.
constexpr std::size_t kMessageRoom = 128 * 1024;
constexpr std::size_t kReceiveBuffer = 256 * 1024;
constexpr std::size_t kRequestBuffer = 8192;
constexpr int kReplyTimeoutMs = 10'000;


nftnl_expr* make_expr(const char* name) {
  nftnl_expr* expr = nftnl_expr_alloc(name);
  if (expr == nullptr) throw std::bad_alloc();
  return expr;
}

// An exthdr expression; `register_attribute` is NFTNL_EXPR_EXTHDR_DREG (load) or _SREG (store).
nftnl_expr* make_exthdr(std::uint32_t op, std::uint8_t kind, std::uint32_t offset, std::uint32_t length,
                        std::uint16_t register_attribute, std::uint32_t reg) {
  auto* e = make_expr("exthdr");
  nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OP, op);
  nftnl_expr_set_u8(e, NFTNL_EXPR_EXTHDR_TYPE, kind);
  nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OFFSET, offset);
  nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_LEN, length);
  nftnl_expr_set_u32(e, register_attribute, reg);
  return e;
}

}  // namespace

void RuleDeleter::operator()(nftnl_rule* rule) const noexcept { nftnl_rule_free(rule); }
void SetDeleter::operator()(nftnl_set* set) const noexcept { nftnl_set_free(set); }

std::vector<std::uint8_t> be16(std::uint16_t value) { return {static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value)}; }
std::vector<std::uint8_t> be32(std::uint32_t value) {
  return {static_cast<std::uint8_t>(value >> 24), static_cast<std::uint8_t>(value >> 16), static_cast<std::uint8_t>(value >> 8),
          static_cast<std::uint8_t>(value)};
}

RuleBuilder::RuleBuilder(const std::string& table, const std::string& chain) : rule_(nftnl_rule_alloc()) {
  if (!rule_) throw std::bad_alloc();
  nftnl_rule_set_u32(rule_.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
  nftnl_rule_set_str(rule_.get(), NFTNL_RULE_TABLE, table.c_str());
  nftnl_rule_set_str(rule_.get(), NFTNL_RULE_CHAIN, chain.c_str());
}

RuleBuilder& RuleBuilder::meta_load(std::uint32_t key, std::uint32_t dreg) {
  auto* e = make_expr("meta");
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
  nftnl_rule_add_expr(rule_.get(), e);
  return *this;
}

RuleBuilder& RuleBuilder::payload_load(std::uint32_t base, std::uint32_t offset, std::uint32_t length, std::uint32_t dreg) {
  auto* e = make_expr("payload");
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, length);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
  nftnl_rule_add_expr(rule_.get(), e);
  return *this;
}

RuleBuilder& RuleBuilder::cmp(std::uint32_t sreg, std::uint32_t op, std::span<const std::uint8_t> data) {
  auto* e = make_expr("cmp");
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
  nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data.data(), static_cast<std::uint32_t>(data.size()));
  nftnl_rule_add_expr(rule_.get(), e);
  return *this;
}

RuleBuilder& RuleBuilder::bitwise(std::uint32_t reg, std::span<const std::uint8_t> mask) {
  const std::vector<std::uint8_t> zero(mask.size(), 0);
  auto* e = make_expr("bitwise");
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, static_cast<std::uint32_t>(mask.size()));
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask.data(), static_cast<std::uint32_t>(mask.size()));
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero.data(), static_cast<std::uint32_t>(zero.size()));
  nftnl_rule_add_expr(rule_.get(), e);
  return *this;
}

RuleBuilder& RuleBuilder::lookup(std::uint32_t sreg, const std::string& set, bool verdict_map) {
  auto* e = make_expr("lookup");
  nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
  nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set.c_str());
  if (verdict_map) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, kRegVerdict);
  nftnl_rule_add_expr(rule_.get(), e);
  return *this;
}

RuleBuilder& RuleBuilder::exthdr_load(std::uint32_t op, std::uint8_t kind, std::uint32_t offset, std::uint32_t length, std::uint32_t dreg) {
  nftnl_rule_add_expr(rule_.get(), make_exthdr(op, kind, offset, length, NFTNL_EXPR_EXTHDR_DREG, dreg));
  return *this;
}

RuleBuilder& RuleBuilder::exthdr_store(std::uint32_t op, std::uint8_t kind, std::uint32_t offset, std::uint32_t length, std::uint32_t sreg) {
  nftnl_rule_add_expr(rule_.get(), make_exthdr(op, kind, offset, length, NFTNL_EXPR_EXTHDR_SREG, sreg));
  return *this;
}

RuleBuilder& RuleBuilder::immediate_data(std::uint32_t dreg, std::span<const std::uint8_t> data) {
  auto* e = make_expr("immediate");
  nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
  nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data.data(), static_cast<std::uint32_t>(data.size()));
  nftnl_rule_add_expr(rule_.get(), e);
  return *this;
}

RuleBuilder& RuleBuilder::verdict(int code, const std::string& chain) {
  auto* e = make_expr("immediate");
  nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, kRegVerdict);
  nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<std::uint32_t>(code));
  if (!chain.empty()) nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain.c_str());
  nftnl_rule_add_expr(rule_.get(), e);
  return *this;
}

RuleBuilder& RuleBuilder::queue(std::uint16_t first, std::uint16_t count) {
  // xtables' NFQUEUE target through nft_compat: kernels built without nft_queue (as this
  // workplace's) still have it, as iptables-nft's NFQUEUE rules do. No bypass flag: without Ward,
  // queued traffic is dropped.
  xt_NFQ_info_v3 info{};
  info.queuenum = first;
  info.queues_total = std::max<std::uint16_t>(count, 1);
  info.flags = 0;
  auto* e = make_expr("target");
  nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
  nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, 3);
  void* copy = std::malloc(sizeof info);  // the expression owns (and frees) its info
  if (copy == nullptr) throw std::bad_alloc();
  std::memcpy(copy, &info, sizeof info);
  nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, copy, sizeof info);
  nftnl_rule_add_expr(rule_.get(), e);
  return *this;
}

RuleBuilder& RuleBuilder::counter() {
  nftnl_rule_add_expr(rule_.get(), make_expr("counter"));
  return *this;
}

Batch::Batch() : first_seq_(static_cast<std::uint32_t>(time(nullptr))) {
  nftnl_batch_begin(reserve(kMessageRoom), first_seq_);
  used_ += NLMSG_ALIGN(static_cast<nlmsghdr*>(static_cast<void*>(buffer_.data()))->nlmsg_len);
}

char* Batch::reserve(std::size_t bytes) {
  if (buffer_.size() < used_ + bytes) buffer_.resize(std::max(buffer_.size() * 2, used_ + bytes));
  return buffer_.data() + used_;
}

void Batch::commit_message(const std::string& what) {
  const auto* header = static_cast<const nlmsghdr*>(static_cast<const void*>(buffer_.data() + used_));
  used_ += NLMSG_ALIGN(header->nlmsg_len);
  descriptions_.push_back(what);
}

void Batch::add_table(const std::string& table) {
  nftnl_table* t = nftnl_table_alloc();
  nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
  nftnl_table_set_str(t, NFTNL_TABLE_NAME, table.c_str());
  auto* header = nftnl_nlmsg_build_hdr(reserve(kMessageRoom), NFT_MSG_NEWTABLE, NFPROTO_INET, NLM_F_CREATE, next_seq());
  nftnl_table_nlmsg_build_payload(header, t);
  nftnl_table_free(t);
  commit_message("table inet " + table);
}

void Batch::delete_table(const std::string& table) {
  nftnl_table* t = nftnl_table_alloc();
  nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
  nftnl_table_set_str(t, NFTNL_TABLE_NAME, table.c_str());
  auto* header = nftnl_nlmsg_build_hdr(reserve(kMessageRoom), NFT_MSG_DELTABLE, NFPROTO_INET, 0, next_seq());
  nftnl_table_nlmsg_build_payload(header, t);
  nftnl_table_free(t);
  commit_message("deleting table inet " + table);
}

namespace {

nftnl_chain* chain_of(const std::string& table, const std::string& chain) {
  nftnl_chain* c = nftnl_chain_alloc();
  nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
  nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table.c_str());
  nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain.c_str());
  return c;
}

}  // namespace

void Batch::add_chain(const std::string& table, const std::string& chain, std::optional<std::uint32_t> hook, int priority) {
  nftnl_chain* c = chain_of(table, chain);
  if (hook) {
    nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, *hook);
    nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, priority);
    nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
    nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
  }
  auto* header = nftnl_nlmsg_build_hdr(reserve(kMessageRoom), NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_CREATE, next_seq());
  nftnl_chain_nlmsg_build_payload(header, c);
  nftnl_chain_free(c);
  commit_message("chain " + chain);
}

void Batch::flush_chain(const std::string& table, const std::string& chain) {
  nftnl_rule* r = nftnl_rule_alloc();
  nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
  nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table.c_str());
  nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain.c_str());
  auto* header = nftnl_nlmsg_build_hdr(reserve(kMessageRoom), NFT_MSG_DELRULE, NFPROTO_INET, 0, next_seq());
  nftnl_rule_nlmsg_build_payload(header, r);
  nftnl_rule_free(r);
  commit_message("flushing chain " + chain);
}

void Batch::delete_chain(const std::string& table, const std::string& chain) {
  nftnl_chain* c = chain_of(table, chain);
  auto* header = nftnl_nlmsg_build_hdr(reserve(kMessageRoom), NFT_MSG_DELCHAIN, NFPROTO_INET, 0, next_seq());
  nftnl_chain_nlmsg_build_payload(header, c);
  nftnl_chain_free(c);
  commit_message("deleting chain " + chain);
}

void Batch::add_set(nftnl_set& set, const std::string& what) {
  auto* header = nftnl_nlmsg_build_hdr(reserve(kMessageRoom), NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE, next_seq());
  nftnl_set_nlmsg_build_payload(header, &set);
  commit_message(what);
}

void Batch::delete_set(const std::string& table, const std::string& set) {
  nftnl_set* s = nftnl_set_alloc();
  nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
  nftnl_set_set_str(s, NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(s, NFTNL_SET_NAME, set.c_str());
  auto* header = nftnl_nlmsg_build_hdr(reserve(kMessageRoom), NFT_MSG_DELSET, NFPROTO_INET, 0, next_seq());
  nftnl_set_nlmsg_build_payload(header, s);
  nftnl_set_free(s);
  commit_message("deleting set " + set);
}

void Batch::add_elements(nftnl_set& set, const std::string& what) {
  nftnl_set_elems_iter* iter = nftnl_set_elems_iter_create(&set);
  if (iter == nullptr) throw std::bad_alloc();
  std::size_t part = 0;
  int more = 1;
  while (more == 1) {
    auto* header = nftnl_nlmsg_build_hdr(reserve(2 * kMessageRoom), NFT_MSG_NEWSETELEM, NFPROTO_INET, NLM_F_CREATE, next_seq());
    more = nftnl_set_elems_nlmsg_build_payload_iter(header, iter);
    commit_message(what + " (message " + std::to_string(++part) + ")");
  }
  nftnl_set_elems_iter_destroy(iter);
}

void Batch::add_rule(nftnl_rule& rule, const std::string& what) {
  auto* header = nftnl_nlmsg_build_hdr(reserve(kMessageRoom), NFT_MSG_NEWRULE, NFPROTO_INET, NLM_F_CREATE | NLM_F_APPEND, next_seq());
  nftnl_rule_nlmsg_build_payload(header, &rule);
  commit_message(what);
}

std::span<const char> Batch::finish() {
  if (!finished_) {
    nftnl_batch_end(reserve(kMessageRoom), next_seq());
    used_ += NLMSG_ALIGN(static_cast<nlmsghdr*>(static_cast<void*>(buffer_.data() + used_))->nlmsg_len);
    finished_ = true;
  }
  return {buffer_.data(), used_};
}

std::string Batch::describe(std::uint32_t seq) const {
  if (seq > first_seq_ && seq - first_seq_ <= descriptions_.size()) return descriptions_[seq - first_seq_ - 1];
  return "the transaction";
}

Socket::Socket(mnl_socket* socket) : socket_(socket), port_id_(mnl_socket_get_portid(socket)), seq_(static_cast<std::uint32_t>(time(nullptr)) + 0x40000000U) {}

Socket::~Socket() { mnl_socket_close(socket_); }

Expected<std::unique_ptr<Socket>, std::string> Socket::open() {
  mnl_socket* socket = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (socket == nullptr) return unexpected(errno_text("nftables netlink socket", errno));
  if (mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) < 0) {
    const int error = errno;
    mnl_socket_close(socket);
    return unexpected(errno_text("nftables netlink bind", error));
  }
  return std::unique_ptr<Socket>(new Socket(socket));
}

Expected<void, std::string> Socket::receive_until(std::uint32_t last_seq, const std::function<int(const nlmsghdr*)>& each,
                                                  std::string* first_error, const Batch* batch) {
  std::vector<char> buffer(kReceiveBuffer);
  for (;;) {
    pollfd descriptor{mnl_socket_get_fd(socket_), POLLIN, 0};
    const int ready = poll(&descriptor, 1, kReplyTimeoutMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return unexpected(std::string("nftables: no answer from the kernel"));
    const ssize_t length = mnl_socket_recvfrom(socket_, buffer.data(), buffer.size());
    if (length < 0) {
      if (errno == EINTR) continue;
      return unexpected(errno_text("nftables receive", errno));
    }
    int remaining = static_cast<int>(length);
    for (auto* header = static_cast<const nlmsghdr*>(static_cast<const void*>(buffer.data())); mnl_nlmsg_ok(header, remaining);
         header = mnl_nlmsg_next(header, &remaining)) {
      if (header->nlmsg_pid != port_id_) continue;
      if (header->nlmsg_type == NLMSG_ERROR) {
        const auto* error = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(header));
        if (error->error != 0 && first_error != nullptr && first_error->empty()) {
          const std::string what = batch != nullptr ? batch->describe(error->msg.nlmsg_seq) : std::string("the request");
          *first_error = errno_text(what, -error->error);
        }
        if (header->nlmsg_seq == last_seq) return {};
        continue;
      }
      if (header->nlmsg_type == NLMSG_DONE) {
        if (header->nlmsg_seq == last_seq) return {};
        continue;
      }
      // Data replies; the request ends with its acknowledgement (NLM_F_ACK) or, for a dump, DONE.
      if (each && each(header) < 0) return unexpected(std::string("nftables: a reply did not parse"));
    }
  }
}

Expected<void, std::string> Socket::commit(Batch& batch) {
  const auto bytes = batch.finish();
  int size = static_cast<int>(bytes.size()) + 4096;
  setsockopt(mnl_socket_get_fd(socket_), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
  if (mnl_socket_sendto(socket_, bytes.data(), bytes.size()) < 0) return unexpected(errno_text("nftables transaction", errno));
  // The kernel answers requests in order: once the generation request after the batch is
  // answered, every error of the batch has been delivered.
  char request[kRequestBuffer];
  const std::uint32_t sentinel = ++seq_;
  auto* header = nftnl_nlmsg_build_hdr(request, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, sentinel);
  if (mnl_socket_sendto(socket_, header, header->nlmsg_len) < 0) return unexpected(errno_text("nftables generation request", errno));
  std::string first_error;
  if (auto done = receive_until(sentinel, {}, &first_error, &batch); !done) return done;
  if (!first_error.empty()) return unexpected("nftables refused the transaction (nothing changed): " + first_error);
  return {};
}

Expected<void, std::string> Socket::dump_elements(const std::string& table, const std::string& set, const std::function<void(nftnl_set_elem&)>& each) {
  SetPtr query(nftnl_set_alloc());
  nftnl_set_set_u32(query.get(), NFTNL_SET_FAMILY, NFPROTO_INET);
  nftnl_set_set_str(query.get(), NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(query.get(), NFTNL_SET_NAME, set.c_str());
  char request[kRequestBuffer];
  const std::uint32_t seq = ++seq_;
  auto* header = nftnl_nlmsg_build_hdr(request, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP, seq);
  nftnl_set_elems_nlmsg_build_payload(header, query.get());
  if (mnl_socket_sendto(socket_, header, header->nlmsg_len) < 0) return unexpected(errno_text("nftables element dump", errno));
  std::string first_error;
  auto received = receive_until(
      seq,
      [&](const nlmsghdr* reply) {
        SetPtr part(nftnl_set_alloc());
        if (nftnl_set_elems_nlmsg_parse(reply, part.get()) < 0) return -1;
        nftnl_set_elem_foreach(
            part.get(),
            [](nftnl_set_elem* element, void* data) {
              (*static_cast<const std::function<void(nftnl_set_elem&)>*>(data))(*element);
              return 0;
            },
            const_cast<std::function<void(nftnl_set_elem&)>*>(&each));
        return 0;
      },
      &first_error, nullptr);
  if (!received) return received;
  if (!first_error.empty()) return unexpected("nftables: set " + set + ": " + first_error);
  return {};
}

Expected<bool, std::string> Socket::has_table(const std::string& table) {
  nftnl_table* t = nftnl_table_alloc();
  nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
  nftnl_table_set_str(t, NFTNL_TABLE_NAME, table.c_str());
  char request[kRequestBuffer];
  const std::uint32_t seq = ++seq_;
  auto* header = nftnl_nlmsg_build_hdr(request, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, seq);
  nftnl_table_nlmsg_build_payload(header, t);
  nftnl_table_free(t);
  if (mnl_socket_sendto(socket_, header, header->nlmsg_len) < 0) return unexpected(errno_text("nftables table request", errno));
  bool found = false;
  std::string first_error;
  auto received = receive_until(
      seq,
      [&](const nlmsghdr* reply) {
        if (NFNL_MSG_TYPE(reply->nlmsg_type) == NFT_MSG_NEWTABLE) found = true;
        return 0;
      },
      &first_error, nullptr);
  if (!received) return unexpected(received.error());
  return found;
}

}  // namespace ward::driver::nft
