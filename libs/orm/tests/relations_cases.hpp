#pragma once
// Eager loading checks shared by the SQLite (relations_test.cpp) and the
// PostgreSQL (libs/postgres/tests/pg_relations_test.cpp) tests: the same
// models, data and assertions, the schema passed in by the caller.

// Designated initializers that leave members at their defaults are the point here.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <covet/json/json.hpp>
#include <covet/orm/orm.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rel {

struct post;
struct user_profile {
    std::int64_t id = 0;
    std::int64_t user_id = 0;
    std::string bio;
};
struct tag {
    std::string code;  // a text primary key
    std::string label;
};
struct user {
    std::int64_t id = 0;
    std::string name;
    std::vector<post> posts;              // has-many
    std::optional<user_profile> profile;  // has-one
};
struct post {
    std::int64_t id = 0;
    std::optional<std::int64_t> user_id;  // NULL: no author
    std::optional<std::string> tag_code;
    std::string title;
    std::optional<user> author;  // belongs-to
    std::optional<tag> topic;    // belongs-to through a text key
};
COVET_REFLECT(user_profile, id, user_id, bio);
COVET_REFLECT(tag, code, label);
COVET_REFLECT(user, id, name, posts, profile);  // relations listed too: JSON writes them
COVET_REFLECT(post, id, user_id, tag_code, title, author, topic);
COVET_MODEL(user_profile, "profiles", id);
COVET_MODEL(tag, "tags", code);
COVET_MODEL(user, "users", id);
COVET_MODEL(post, "posts", id);
COVET_RELATIONS(user, covet::orm::has_many(&user::posts, &post::user_id),
                covet::orm::has_one(&user::profile, &user_profile::user_id));
COVET_RELATIONS(post, covet::orm::belongs_to(&post::author, &post::user_id),
                covet::orm::belongs_to(&post::topic, &post::tag_code));

// Quotes, backslashes and array punctuation: the PostgreSQL array literal must escape them.
inline const std::string odd_code = "a\"b\\c'd,{x} y";

/// Counts the statements a database runs (database_options::on_statement).
struct statement_counter {
    std::size_t count = 0;
    std::vector<std::string> sql;
    auto hook()
    {
        return [this](std::string_view s) {
            ++count;
            sql.emplace_back(s);
        };
    }
    void reset()
    {
        count = 0;
        sql.clear();
    }
};

/// The tables, in either dialect: `key` is the auto-increment primary key
/// ("INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY"), `integer` the foreign key type.
inline std::string relations_schema(std::string_view key, std::string_view integer)
{
    const std::string k(key);
    const std::string i(integer);
    return "CREATE TABLE tags (code TEXT PRIMARY KEY, label TEXT NOT NULL);"
           "CREATE TABLE users (id " +
           k +
           ", name TEXT NOT NULL);"
           "CREATE TABLE posts (id " +
           k + ", user_id " + i +
           " REFERENCES users(id),"
           " tag_code TEXT REFERENCES tags(code), title TEXT NOT NULL);"
           "CREATE TABLE profiles (id " +
           k + ", user_id " + i +
           " NOT NULL REFERENCES users(id),"
           " bio TEXT NOT NULL);";
}

/// A database whose statements `counter` counts.
inline covet::orm::database open_counted(const std::string& url, statement_counter& counter)
{
    covet::orm::database_options options;
    options.on_statement = counter.hook();
    return covet::orm::database::open(url, options);
}

inline covet::task<void> check_relations(covet::orm::database& db, statement_counter& counter)
{
    namespace orm = covet::orm;
    using orm::c;
    using orm::select;

    // ann: two posts and a profile; bob: nothing; cat: one post; one post without an author.
    const auto t1 = tag{.code = odd_code, .label = "odd"};
    const auto t2 = tag{.code = "news", .label = "News"};
    co_await db.insert(t1);
    co_await db.insert(t2);
    const auto ann = user{.id = 0, .name = "ann"};
    const auto bob = user{.id = 0, .name = "bob"};
    const auto cat = user{.id = 0, .name = "cat"};
    const auto ann_id = co_await db.insert(ann);
    const auto bob_id = co_await db.insert(bob);
    const auto cat_id = co_await db.insert(cat);
    const auto p1 = post{.id = 0, .user_id = ann_id, .tag_code = odd_code, .title = "first"};
    const auto p2 = post{.id = 0, .user_id = cat_id, .tag_code = "news", .title = "second"};
    const auto p3 = post{.id = 0, .user_id = ann_id, .tag_code = std::nullopt, .title = "third"};
    const auto p4 = post{.id = 0, .user_id = std::nullopt, .tag_code = odd_code, .title = "orphan"};
    co_await db.insert(p1);
    co_await db.insert(p2);
    co_await db.insert(p3);
    co_await db.insert(p4);
    const auto pr = user_profile{.id = 0, .user_id = ann_id, .bio = "hi"};
    co_await db.insert(pr);

    // belongs-to: the posts, then their authors in one more statement.
    counter.reset();
    auto posts = co_await db.all(select<post>().order_by(c(&post::id).asc()).with(&post::author));
    CHECK(counter.count == 2);
    REQUIRE(posts.size() == 4);
    REQUIRE(posts[0].author);
    CHECK(posts[0].author->name == "ann");
    CHECK(posts[0].author->id == ann_id);
    CHECK(posts[1].author->name == "cat");
    CHECK(posts[2].author->name == "ann");
    CHECK(!posts[3].author);  // NULL foreign key
    CHECK(!posts[0].topic);   // not asked for

    // Two relations: one statement each; the text key with quotes comes back.
    counter.reset();
    posts = co_await db.all(select<post>().order_by(c(&post::id).asc()).with(&post::author, &post::topic));
    CHECK(counter.count == 3);
    REQUIRE(posts[0].topic);
    CHECK(posts[0].topic->code == odd_code);
    CHECK(posts[0].topic->label == "odd");
    CHECK(posts[1].topic->label == "News");
    CHECK(!posts[2].topic);
    CHECK(posts[3].topic->code == odd_code);

    // has-many and has-one, with a parent that has no children.
    counter.reset();
    auto users =
        co_await db.all(select<user>().order_by(c(&user::id).asc()).with(&user::posts).with(&user::profile));
    CHECK(counter.count == 3);
    REQUIRE(users.size() == 3);
    REQUIRE(users[0].posts.size() == 2);
    CHECK(users[0].posts[0].title == "first");  // in primary key order
    CHECK(users[0].posts[1].title == "third");
    CHECK(users[0].profile->bio == "hi");
    CHECK(users[1].posts.empty());
    CHECK(!users[1].profile);
    REQUIRE(users[2].posts.size() == 1);
    CHECK(users[2].posts[0].title == "second");
    CHECK(users[1].id == bob_id);

    // Loaded relations go out as nested JSON.
    const std::string json = covet::json::to_string(users[2]);
    CHECK(json.find("\"posts\":[{") != std::string::npos);
    CHECK(json.find("\"second\"") != std::string::npos);

    // A where clause narrows the parents; only their children are fetched.
    counter.reset();
    auto only_cat = co_await db.all(select<user>().where(c(&user::name) == "cat").with(&user::posts));
    CHECK(counter.count == 2);
    REQUIRE(only_cat.size() == 1);
    CHECK(only_cat[0].posts.size() == 1);

    // first() loads too.
    counter.reset();
    auto first = co_await db.first(select<post>().where(c(&post::title) == "third").with(&post::author));
    CHECK(counter.count == 2);
    REQUIRE(first);
    CHECK(first->author->name == "ann");

    // load_related on rows already in hand, and on one object; stale values are replaced.
    auto plain = co_await db.query<user>("SELECT * FROM users ORDER BY id");
    plain[1].posts.push_back(post{});
    counter.reset();
    plain = co_await db.load_related(std::move(plain), &user::posts, &user::profile);
    CHECK(counter.count == 2);
    CHECK(plain[0].posts.size() == 2);
    CHECK(plain[1].posts.empty());
    counter.reset();
    auto one = co_await db.load_related(posts[1], &post::author);
    CHECK(counter.count == 1);
    CHECK(one.author->name == "cat");

    // No parents, or no parent with a key: nothing to look up, no statement.
    counter.reset();
    auto none = co_await db.all(select<user>().where(c(&user::name) == "nobody").with(&user::posts));
    CHECK(none.empty());
    CHECK(counter.count == 1);
    counter.reset();
    auto orphans = co_await db.all(select<post>().where(c(&post::user_id).is_null()).with(&post::author));
    REQUIRE(orphans.size() == 1);
    CHECK(!orphans[0].author);
    CHECK(counter.count == 1);

    // Many parents: still one statement per relation.
    std::vector<user> crowd;
    for (int i = 0; i < 300; ++i) {
        crowd.push_back(user{.id = 0, .name = "u" + std::to_string(i)});
    }
    co_await db.insert_all(crowd);
    auto everyone = co_await db.query<user>("SELECT * FROM users ORDER BY id");
    std::vector<post> many_posts;
    for (const auto& u : everyone) {
        many_posts.push_back(
            post{.id = 0, .user_id = u.id, .tag_code = std::nullopt, .title = "by " + u.name});
    }
    co_await db.insert_all(many_posts);
    counter.reset();
    auto crowd_posts = co_await db.all(select<post>().with(&post::author));
    CHECK(counter.count == 2);
    CHECK(crowd_posts.size() == 307);
    std::size_t matched = 0;
    for (const auto& p : crowd_posts) {
        if (p.author && p.author->id == *p.user_id) {
            ++matched;
        }
    }
    CHECK(matched == 306);
    counter.reset();
    auto crowd_users = co_await db.all(select<user>().with(&user::posts));
    CHECK(counter.count == 2);
    CHECK(crowd_users.size() == 303);
    CHECK(crowd_users.back().posts.size() == 1);
    CHECK(crowd_users.back().posts[0].title == "by " + crowd_users.back().name);
}

}  // namespace rel
