#include "directory/security/security_descriptor.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "common/byte_writer.h"
#include "directory/security/access_check.h"

namespace ward::security {
namespace {

const char* const kDomain = "S-1-5-21-533585165-2515806321-1187638137";
Sid domain_sid(std::uint32_t rid) { return *Sid::from_string(std::string(kDomain) + "-" + std::to_string(rid)); }
Sid well_known(const char* text) { return *Sid::from_string(text); }
Guid apply_group_policy() { return *Guid::from_string(kApplyGroupPolicyRight); }

std::vector<std::byte> read_seed(const char* name) {
  const char* source = std::getenv("WARD_SOURCE_DIR");
  std::ifstream in(std::string(source != nullptr ? source : ".") + "/directory/security/fuzz_corpus/" + name,
                   std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) out[i] = static_cast<std::byte>(raw[i]);
  return out;
}

// A self-relative SD with a DACL only (what the SD flags control DACL_SECURITY_INFORMATION
// returns), written field by field as [MS-DTYP] 2.4.6 lays it out.
void write_sid(ByteWriter& out, const Sid& sid) {
  out.u8(sid.revision);
  out.u8(static_cast<std::uint8_t>(sid.sub_authorities.size()));
  for (int shift = 40; shift >= 0; shift -= 8) out.u8(static_cast<std::uint8_t>(sid.authority >> shift));
  for (auto sub : sid.sub_authorities) out.u32_le(sub);
}
std::vector<std::byte> encode(const std::vector<Ace>& aces) {
  std::vector<std::vector<std::byte>> encoded;
  std::size_t acl_size = 8;
  for (const auto& ace : aces) {
    ByteWriter b;
    b.u8(ace.type);
    b.u8(ace.flags);
    b.u16_le(0);  // size, patched below
    b.u32_le(ace.mask);
    if (ace.is_object()) {
      b.u32_le((ace.object_type ? 1u : 0u) | (ace.inherited_object_type ? 2u : 0u));
      if (ace.object_type) b.bytes(std::as_bytes(std::span(ace.object_type->bytes)));
      if (ace.inherited_object_type) b.bytes(std::as_bytes(std::span(ace.inherited_object_type->bytes)));
    }
    write_sid(b, ace.sid);
    std::vector<std::byte> bytes(b.written().begin(), b.written().end());
    bytes[2] = static_cast<std::byte>(bytes.size() & 0xff);
    bytes[3] = static_cast<std::byte>(bytes.size() >> 8);
    acl_size += bytes.size();
    encoded.push_back(std::move(bytes));
  }
  ByteWriter out;
  out.u8(1);
  out.u8(0);
  out.u16_le(kControlSelfRelative | kControlDaclPresent);
  out.u32_le(0);   // owner
  out.u32_le(0);   // group
  out.u32_le(0);   // SACL
  out.u32_le(20);  // DACL right after the header
  out.u8(4);
  out.u8(0);
  out.u16_le(static_cast<std::uint16_t>(acl_size));
  out.u16_le(static_cast<std::uint16_t>(aces.size()));
  out.u16_le(0);
  for (const auto& bytes : encoded) out.bytes(bytes);
  return {out.written().begin(), out.written().end()};
}

Ace allow(const Sid& sid, std::uint32_t mask) { return Ace{ace_type::kAccessAllowed, 0, mask, {}, {}, sid, true}; }
Ace object_ace(std::uint8_t type, const Sid& sid, std::uint32_t mask, std::optional<Guid> object) {
  return Ace{type, 0, mask, object, {}, sid, true};
}

TEST(SidTest, TextAndBinaryForms) {
  const auto sid = Sid::from_string("S-1-5-21-1-2-3-1105");
  ASSERT_TRUE(sid);
  EXPECT_EQ(sid->to_string(), "S-1-5-21-1-2-3-1105");
  ByteWriter out;
  write_sid(out, *sid);
  auto parsed = parse_sid(out.written());
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(*parsed, *sid);
  EXPECT_FALSE(Sid::from_string("S-2-5"));
  EXPECT_FALSE(Sid::from_string("S-1-x-2"));
  EXPECT_FALSE(Sid::from_string("1-5-11"));
  // 16 sub-authorities: refused with the field and offset.
  const std::vector<std::byte> bad{std::byte{1}, std::byte{16}};
  const auto error = parse_sid(bad);
  ASSERT_FALSE(error);
  EXPECT_EQ(error.error().field, "SID sub-authority count");
  EXPECT_EQ(error.error().offset, 2u);
}

TEST(GuidTest, WindowsLayout) {
  const auto guid = apply_group_policy();
  EXPECT_EQ(guid.bytes[0], 0x8f);  // Data1 little-endian: edacfd8f -> 8f fd ac ed
  EXPECT_EQ(guid.bytes[3], 0xed);
  EXPECT_EQ(guid.to_string(), kApplyGroupPolicyRight);
  EXPECT_EQ(Guid::from_string("{EDACFD8F-FFB3-11D1-B41D-00A0C968F939}"), guid);
  EXPECT_FALSE(Guid::from_string("edacfd8f-ffb3-11d1-b41d-00a0c968f93"));
}

// The Default Domain Policy's DACL as Samba 4.17 provisions it (read with the SD flags control).
TEST(SecurityDescriptorTest, ParsesSambasGpoDescriptor) {
  const auto bytes = read_seed("samba-default-domain-policy.sd");
  ASSERT_FALSE(bytes.empty());
  auto sd = parse_security_descriptor(bytes);
  ASSERT_TRUE(sd) << sd.error().to_string();
  EXPECT_TRUE(sd->dacl_present);
  EXPECT_FALSE(sd->owner);  // only the DACL was asked for
  ASSERT_EQ(sd->dacl.size(), 8u);
  const Ace& apply = sd->dacl[6];
  EXPECT_EQ(apply.type, ace_type::kAccessAllowedObject);
  EXPECT_EQ(apply.sid.to_string(), kAuthenticatedUsers);
  EXPECT_EQ(apply.mask, right::kControlAccess);
  ASSERT_TRUE(apply.object_type);
  EXPECT_EQ(apply.object_type->to_string(), kApplyGroupPolicyRight);

  // A domain computer: Authenticated Users may read the GPO and apply it.
  const std::vector<Sid> computer{domain_sid(1105), domain_sid(515), well_known(kEveryone), well_known(kAuthenticatedUsers)};
  EXPECT_TRUE(check_access(*sd, computer, right::kControlAccess, apply_group_policy()).granted);
  EXPECT_TRUE(check_access(*sd, computer, right::kReadProperty).granted);
  // Someone outside Authenticated Users gets neither.
  const std::vector<Sid> anonymous{well_known("S-1-5-7"), well_known(kEveryone)};
  const auto refused = check_access(*sd, anonymous, right::kControlAccess, apply_group_policy());
  EXPECT_FALSE(refused.granted);
  EXPECT_FALSE(refused.denied_by_ace) << "no ACE grants it; none denies it";
}

TEST(SecurityDescriptorTest, MalformedInputNamesFieldAndOffset) {
  auto bytes = read_seed("samba-default-domain-policy.sd");
  ASSERT_GT(bytes.size(), 40u);
  const auto truncated = parse_security_descriptor(std::span(bytes).first(40));
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().structure, "security descriptor");
  EXPECT_EQ(truncated.error().field, "ACL body");
  EXPECT_EQ(truncated.error().offset, 28u);

  auto bad_offset = bytes;
  bad_offset[17] = std::byte{0x10};  // DACL offset 0x1014, past the end
  const auto past = parse_security_descriptor(bad_offset);
  ASSERT_FALSE(past);
  EXPECT_NE(past.error().message.find("past the end"), std::string::npos) << past.error().to_string();

  auto absolute = bytes;
  absolute[3] = std::byte{0x00};  // SE_SELF_RELATIVE cleared
  EXPECT_FALSE(parse_security_descriptor(absolute));
}

// Security filtering as GPMC writes it: Authenticated Users may read and apply, and a group of
// the computer's is denied Apply Group Policy. Deny wins wherever it stands before the allow.
TEST(AccessCheckTest, ADenyForAGroupOfTheComputerWins) {
  const Sid denied_group = domain_sid(1201);
  const std::vector<Ace> dacl{
      object_ace(ace_type::kAccessDeniedObject, denied_group, right::kControlAccess, apply_group_policy()),
      allow(well_known(kAuthenticatedUsers), right::kGenericReadMapped),
      object_ace(ace_type::kAccessAllowedObject, well_known(kAuthenticatedUsers), right::kControlAccess,
                 apply_group_policy()),
  };
  auto sd = parse_security_descriptor(encode(dacl));
  ASSERT_TRUE(sd) << sd.error().to_string();
  ASSERT_EQ(sd->dacl, dacl);

  const std::vector<Sid> member{domain_sid(1105), denied_group, well_known(kAuthenticatedUsers)};
  const auto apply = check_access(*sd, member, right::kControlAccess, apply_group_policy());
  EXPECT_FALSE(apply.granted);
  EXPECT_TRUE(apply.denied_by_ace);
  EXPECT_EQ(apply.ace_index, 0u);
  EXPECT_EQ(apply.sid, denied_group);
  EXPECT_TRUE(check_access(*sd, member, right::kReadProperty).granted) << "the deny names Apply Group Policy only";

  const std::vector<Sid> other{domain_sid(1106), well_known(kAuthenticatedUsers)};
  const auto granted = check_access(*sd, other, right::kControlAccess, apply_group_policy());
  EXPECT_TRUE(granted.granted);
  EXPECT_EQ(granted.ace_index, 2u);
}

TEST(AccessCheckTest, ObjectTypesInheritOnlyAndEmptyDacls) {
  const Sid computer = domain_sid(1105);
  const Guid other_right = *Guid::from_string("00299570-246d-11d0-a768-00aa006e0529");  // User-Force-Change-Password
  // An allow for another extended right does not grant Apply Group Policy; CR without an
  // object type grants every extended right.
  const std::vector<Ace> dacl{object_ace(ace_type::kAccessAllowedObject, computer, right::kControlAccess, other_right)};
  auto sd = parse_security_descriptor(encode(dacl));
  ASSERT_TRUE(sd);
  EXPECT_FALSE(check_access(*sd, {computer}, right::kControlAccess, apply_group_policy()).granted);
  sd = parse_security_descriptor(encode({allow(computer, right::kControlAccess)}));
  ASSERT_TRUE(sd);
  EXPECT_TRUE(check_access(*sd, {computer}, right::kControlAccess, apply_group_policy()).granted);

  // An inherit-only deny speaks for children, not this object.
  Ace inherit_only = object_ace(ace_type::kAccessDeniedObject, computer, right::kControlAccess, apply_group_policy());
  inherit_only.flags = ace_flag::kInheritOnly;
  sd = parse_security_descriptor(encode({inherit_only, allow(computer, right::kGenericAll)}));
  ASSERT_TRUE(sd);
  EXPECT_TRUE(check_access(*sd, {computer}, right::kControlAccess, apply_group_policy()).granted);

  // An empty DACL grants nothing; no DACL grants everything.
  sd = parse_security_descriptor(encode({}));
  ASSERT_TRUE(sd);
  EXPECT_FALSE(check_access(*sd, {computer}, right::kReadProperty).granted);
  SecurityDescriptor none;
  EXPECT_TRUE(check_access(none, {computer}, right::kReadProperty).granted);
}

}  // namespace
}  // namespace ward::security
