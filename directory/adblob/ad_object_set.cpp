#include "directory/adblob/ad_object_set.h"

#include <string>

#include "common/byte_reader.h"
#include "common/byte_writer.h"

namespace ward::adblob {
namespace {

constexpr std::uint8_t kHasIsakmpReference = 1;
constexpr std::uint8_t kHasNegotiationReference = 2;

void put_string(ByteWriter& out, const std::string& text) {
  out.u16_be(static_cast<std::uint16_t>(text.size()));
  out.bytes(std::as_bytes(std::span(text.data(), text.size() & 0xffff)));
}

void put_list(ByteWriter& out, const std::vector<std::string>& list) {
  out.u8(static_cast<std::uint8_t>(list.size()));
  for (std::size_t i = 0; i < list.size() && i < 0xff; ++i) put_string(out, list[i]);
}

bool get_string(ByteReader& in, std::string& text) {
  auto length = in.u16_be("string length");
  if (!length) return false;
  auto bytes = in.bytes(*length, "string");
  if (!bytes) return false;
  text.assign(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  return true;
}

bool get_list(ByteReader& in, std::vector<std::string>& list) {
  auto count = in.u8("list count");
  if (!count) return false;
  list.resize(*count);
  for (auto& text : list) {
    if (!get_string(in, text)) return false;
  }
  return true;
}

bool get_object(ByteReader& in, AdObject& o) {
  auto object_class = in.u8("class");
  if (!object_class || *object_class > static_cast<std::uint8_t>(AdClass::Filter)) return false;
  o.object_class = static_cast<AdClass>(*object_class);
  if (!get_string(in, o.dn) || !get_string(in, o.ipsec_name) || !get_string(in, o.description) ||
      !get_string(in, o.ipsec_id)) {
    return false;
  }
  auto data_type = in.u32_be("ipsecDataType");
  auto data_length = data_type ? in.u32_be("ipsecData length") : data_type;
  if (!data_type || !data_length) return false;
  auto data = in.bytes(*data_length, "ipsecData");
  if (!data) return false;
  o.ipsec_data_type = *data_type;
  o.ipsec_data.assign(data->begin(), data->end());
  auto flags = in.u8("flags");
  if (!flags) return false;
  if ((*flags & kHasIsakmpReference) != 0 && !get_string(in, o.isakmp_reference.emplace())) return false;
  if ((*flags & kHasNegotiationReference) != 0 && !get_string(in, o.negotiation_policy_reference.emplace())) {
    return false;
  }
  return get_list(in, o.nfa_references) && get_list(in, o.filter_references) && get_list(in, o.owners_references) &&
         get_string(in, o.negotiation_policy_type) && get_string(in, o.negotiation_policy_action);
}

}  // namespace

std::vector<std::byte> encode_ad_object_set(std::span<const AdObject> objects) {
  ByteWriter out;
  for (const auto& o : objects) {
    out.u8(static_cast<std::uint8_t>(o.object_class));
    put_string(out, o.dn);
    put_string(out, o.ipsec_name);
    put_string(out, o.description);
    put_string(out, o.ipsec_id);
    out.u32_be(o.ipsec_data_type);
    out.u32_be(static_cast<std::uint32_t>(o.ipsec_data.size()));
    out.bytes(o.ipsec_data);
    out.u8(static_cast<std::uint8_t>((o.isakmp_reference ? kHasIsakmpReference : 0) |
                                     (o.negotiation_policy_reference ? kHasNegotiationReference : 0)));
    if (o.isakmp_reference) put_string(out, *o.isakmp_reference);
    if (o.negotiation_policy_reference) put_string(out, *o.negotiation_policy_reference);
    put_list(out, o.nfa_references);
    put_list(out, o.filter_references);
    put_list(out, o.owners_references);
    put_string(out, o.negotiation_policy_type);
    put_string(out, o.negotiation_policy_action);
  }
  return std::move(out).take();
}

std::vector<AdObject> decode_ad_object_set(std::span<const std::byte> bytes) {
  std::vector<AdObject> objects;
  ByteReader in(bytes, "AD object set");
  while (!in.empty()) {
    AdObject o;
    if (!get_object(in, o)) break;
    objects.push_back(std::move(o));
  }
  return objects;
}

}  // namespace ward::adblob
