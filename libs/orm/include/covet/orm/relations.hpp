#pragma once
// Relationships between models, declared next to COVET_MODEL, and the pieces
// of eager loading that do not need a database (key collection, the IN / ANY
// statement, matching rows back to their parents).
//
//   struct post;
//   struct user {
//       std::int64_t id = 0;
//       std::string name;
//       std::vector<post> posts;              // has-many: filled by eager loading
//   };
//   struct post {
//       std::int64_t id = 0;
//       std::optional<std::int64_t> user_id;  // the foreign key (NULL = no author)
//       std::string title;
//       std::optional<user> author;           // belongs-to: filled by eager loading
//   };
//   COVET_REFLECT(user, id, name);            // columns only (see below)
//   COVET_REFLECT(post, id, user_id, title);
//   COVET_MODEL(user, "users", id);
//   COVET_MODEL(post, "posts", id);
//   COVET_RELATIONS(user, covet::orm::has_many(&user::posts, &post::user_id));
//   COVET_RELATIONS(post, covet::orm::belongs_to(&post::author, &post::user_id));
//
//   auto posts = co_await db.all(select<post>().where(...).with(&post::author));
//   auto users = co_await db.load_related(std::move(some_users), &user::posts);
//
// Each relation costs one extra statement for the whole list of parents
// (never one per parent): `WHERE key IN ($1, ...)` on SQLite (the list padded
// to a power of two so that few statement texts reach the statement cache),
// `WHERE key = ANY($1)` with one array parameter on PostgreSQL. Parents whose
// key is NULL (or that have no children) get an empty optional / vector, and
// no statement runs when no parent has a key to look up.
//
// Relation members may also be listed in COVET_REFLECT (for JSON output): the
// ORM only treats members of column types (numbers, strings, blobs and
// std::optional of those) as columns.

#include <covet/orm/model.hpp>
#include <covet/orm/value.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace covet::orm {

/// P has one U, found by P's foreign key column `foreign_key` = U's primary key.
template <class P, class U, class FK>
struct belongs_to_relation {
    std::optional<U> P::*member;
    FK P::*foreign_key;
};
/// P has many C, whose foreign key column `foreign_key` = P's primary key.
template <class P, class C, class FK>
struct has_many_relation {
    std::vector<C> P::*member;
    FK C::*foreign_key;
};
/// P has at most one C (the one with the lowest primary key when there are several).
template <class P, class C, class FK>
struct has_one_relation {
    std::optional<C> P::*member;
    FK C::*foreign_key;
};

template <class P, class U, class FK>
constexpr belongs_to_relation<P, U, FK> belongs_to(std::optional<U> P::*member, FK P::*foreign_key) noexcept
{
    return {member, foreign_key};
}
template <class P, class C, class FK>
constexpr has_many_relation<P, C, FK> has_many(std::vector<C> P::*member, FK C::*foreign_key) noexcept
{
    return {member, foreign_key};
}
template <class P, class C, class FK>
constexpr has_one_relation<P, C, FK> has_one(std::optional<C> P::*member, FK C::*foreign_key) noexcept
{
    return {member, foreign_key};
}

/// T was declared with COVET_RELATIONS.
template <class T>
concept has_relations = requires
{
    covet_orm_relations(json::tag<T>{});
};

template <has_relations T>
inline constexpr auto relations_of = covet_orm_relations(json::tag<T>{});

namespace detail {

template <class T>
inline constexpr std::size_t relation_count = std::tuple_size_v<std::decay_t<decltype(relations_of<T>)>>;

/// Some relation of T is stored in a member of type M (checked at compile time).
template <class T, class M>
constexpr bool has_relation_member() noexcept
{
    return std::apply([](const auto&... r) { return (std::is_same_v<decltype(r.member), M T::*> || ...); },
                      relations_of<T>);
}

/// The position of the relation stored in `member` among T's relations.
template <class T, class M>
constexpr std::size_t relation_index(M T::*member)
{
    std::size_t found = relation_count<T>;
    std::size_t i = 0;
    std::apply(
        [&](const auto&... r) {
            (
                [&](const auto& rel) {
                    if constexpr (std::is_same_v<decltype(rel.member), M T::*>) {
                        if (rel.member == member && found == relation_count<T>) {
                            found = i;
                        }
                    }
                    ++i;
                }(r),
                ...);
        },
        relations_of<T>);
    if (found == relation_count<T>) {
        throw error(errc::invalid_argument, "42703", "covet::orm: the member is not a declared relation");
    }
    return found;
}

template <model T>
using key_of_t = typename std::decay_t<decltype(model_of<T>)>::key_type;

/// A foreign key's value as the referenced key type, or nullopt for NULL.
template <class K, class FK>
std::optional<K> key_value(const FK& fk)
{
    if constexpr (is_optional_v<FK>) {
        if (!fk) {
            return std::nullopt;
        }
        return key_value<K>(*fk);
    } else {
        return K(fk);
    }
}

}  // namespace detail

}  // namespace covet::orm

/// Declares the relationships of a model (after COVET_MODEL, in its namespace):
/// `COVET_RELATIONS(post, covet::orm::belongs_to(&post::author, &post::user_id));`
#define COVET_RELATIONS(Type, ...)                                                         \
    [[maybe_unused]] constexpr auto covet_orm_relations(::covet::json::tag<Type>) noexcept \
    {                                                                                      \
        return ::std::make_tuple(__VA_ARGS__);                                             \
    }
