// covet::json against RapidJSON, Boost.JSON and nlohmann-json in one binary.
// Every library does the same work per iteration: the same structs, the same
// documents, output buffers reused where the library allows it.
//   serialize: {"message":"Hello, World!"}; 100 users
//   parse into structs: 100 users; 64 KiB and 1 MiB of posts with escapes and unicode
#include <covet/json/json.hpp>

#include <benchmark/benchmark.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <boost/json.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace bench {

struct message {
    std::string message;
};
COVET_REFLECT(message, message);

struct user {
    std::int64_t id = 0;
    std::string name;
    std::string email;
    int age = 0;
    std::vector<std::string> tags;
    std::string created_at;  // RFC 3339 text for every library (same work)
};
COVET_REFLECT(user, id, name, email, age, tags, created_at);
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(user, id, name, email, age, tags, created_at)

struct post {
    std::int64_t id = 0;
    std::string author;
    std::string title;
    std::string body;
    std::vector<std::string> tags;
    double score = 0;
};
COVET_REFLECT(post, id, author, title, body, tags, score);
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(post, id, author, title, body, tags, score)

void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const user& u)
{
    v = {{"id", u.id},
         {"name", u.name},
         {"email", u.email},
         {"age", u.age},
         {"tags", boost::json::value_from(u.tags)},
         {"created_at", u.created_at}};
}
user tag_invoke(boost::json::value_to_tag<user>, const boost::json::value& jv)
{
    const auto& o = jv.as_object();
    user u;
    u.id = o.at("id").as_int64();
    u.name = o.at("name").as_string();
    u.email = o.at("email").as_string();
    u.age = static_cast<int>(o.at("age").as_int64());
    u.tags = boost::json::value_to<std::vector<std::string>>(o.at("tags"));
    u.created_at = o.at("created_at").as_string();
    return u;
}
post tag_invoke(boost::json::value_to_tag<post>, const boost::json::value& jv)
{
    const auto& o = jv.as_object();
    post p;
    p.id = o.at("id").as_int64();
    p.author = o.at("author").as_string();
    p.title = o.at("title").as_string();
    p.body = o.at("body").as_string();
    p.tags = boost::json::value_to<std::vector<std::string>>(o.at("tags"));
    p.score = o.at("score").to_number<double>();
    return p;
}

std::vector<user> make_users()
{
    std::vector<user> users;
    for (int i = 0; i < 100; ++i) {
        users.push_back(user{1000 + i,
                             "User Number " + std::to_string(i),
                             "user" + std::to_string(i) + "@example.com",
                             20 + i % 50,
                             {"admin", "beta", "tag" + std::to_string(i % 7)},
                             "2026-11-22T16:30:50.123Z"});
    }
    return users;
}

// Posts with escapes (\n \" \\ \t \u00e9 \ud83d\ude00) and raw UTF-8, until `bytes` is reached.
std::string make_posts(std::size_t bytes)
{
    std::string doc = "[";
    for (int i = 0; doc.size() < bytes; ++i) {
        if (i) {
            doc += ',';
        }
        doc +=
            R"({"id":)" + std::to_string(i) +
            R"(,"author":"Zoë \"zed\" Ångström","title":"Caf\u00e9 r\u00e9sum\u00e9 #)" + std::to_string(i) +
            R"(","body":"Line one\nLine two\twith tab, a \"quote\", a back\\slash, \u00e9\u00e8 and \ud83d\ude00 emoji; )"
            R"(日本語のテキスト, naïve façade, Ελληνικά, русский текст. Lorem ipsum dolor sit amet, consectetur )"
            R"(adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.",)"
            R"("tags":["caf\u00e9","news","\u65e5\u672c"],"score":)" +
            std::to_string(i % 100) + ".25}";
    }
    doc += "]";
    return doc;
}

const std::vector<user>& users()
{
    static const auto u = make_users();
    return u;
}
const std::string& users_json()
{
    static const auto s = covet::json::to_string(users());
    return s;
}
const std::string& posts_64k()
{
    static const auto s = make_posts(64 * 1024);
    return s;
}
const std::string& posts_1m()
{
    static const auto s = make_posts(1024 * 1024);
    return s;
}

// ------------------------------------------------------------ hello world

void hello_covet(benchmark::State& state)
{
    covet::json::writer w;
    message m{"Hello, World!"};
    for (auto _ : state) {
        w.clear();
        covet::json::write(w, m);
        benchmark::DoNotOptimize(w.view().data());
    }
}
BENCHMARK(hello_covet);

void hello_rapidjson(benchmark::State& state)
{
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    for (auto _ : state) {
        buffer.Clear();
        w.Reset(buffer);
        w.StartObject();
        w.Key("message");
        w.String("Hello, World!");
        w.EndObject();
        benchmark::DoNotOptimize(buffer.GetString());
    }
}
BENCHMARK(hello_rapidjson);

void hello_boost(benchmark::State& state)
{
    for (auto _ : state) {
        std::string s = boost::json::serialize(boost::json::object{{"message", "Hello, World!"}});
        benchmark::DoNotOptimize(s.data());
    }
}
BENCHMARK(hello_boost);

void hello_nlohmann(benchmark::State& state)
{
    for (auto _ : state) {
        nlohmann::json j;
        j["message"] = "Hello, World!";
        std::string s = j.dump();
        benchmark::DoNotOptimize(s.data());
    }
}
BENCHMARK(hello_nlohmann);

// ------------------------------------------------------------ serialize 100 users

void users_write_covet(benchmark::State& state)
{
    covet::json::writer w;
    for (auto _ : state) {
        w.clear();
        covet::json::write(w, users());
        benchmark::DoNotOptimize(w.view().data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * users_json().size()));
}
BENCHMARK(users_write_covet);

void users_write_rapidjson(benchmark::State& state)
{
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    for (auto _ : state) {
        buffer.Clear();
        w.Reset(buffer);
        w.StartArray();
        for (const auto& u : users()) {
            w.StartObject();
            w.Key("id");
            w.Int64(u.id);
            w.Key("name");
            w.String(u.name.data(), static_cast<rapidjson::SizeType>(u.name.size()));
            w.Key("email");
            w.String(u.email.data(), static_cast<rapidjson::SizeType>(u.email.size()));
            w.Key("age");
            w.Int(u.age);
            w.Key("tags");
            w.StartArray();
            for (const auto& t : u.tags) {
                w.String(t.data(), static_cast<rapidjson::SizeType>(t.size()));
            }
            w.EndArray();
            w.Key("created_at");
            w.String(u.created_at.data(), static_cast<rapidjson::SizeType>(u.created_at.size()));
            w.EndObject();
        }
        w.EndArray();
        benchmark::DoNotOptimize(buffer.GetString());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * users_json().size()));
}
BENCHMARK(users_write_rapidjson);

void users_write_boost(benchmark::State& state)
{
    for (auto _ : state) {
        std::string s = boost::json::serialize(boost::json::value_from(users()));
        benchmark::DoNotOptimize(s.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * users_json().size()));
}
BENCHMARK(users_write_boost);

void users_write_nlohmann(benchmark::State& state)
{
    for (auto _ : state) {
        std::string s = nlohmann::json(users()).dump();
        benchmark::DoNotOptimize(s.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * users_json().size()));
}
BENCHMARK(users_write_nlohmann);

// ------------------------------------------------------------ parse into structs

template <class T>
void parse_covet(benchmark::State& state, const std::string& doc)
{
    covet::json::reader r;
    for (auto _ : state) {
        auto v = r.parse<std::vector<T>>(doc);
        if (!v) {
            state.SkipWithError("parse failed");
            return;
        }
        benchmark::DoNotOptimize(v->data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * doc.size()));
}

std::string rj_string(const rapidjson::Value& v)
{
    return std::string(v.GetString(), v.GetStringLength());
}

std::vector<std::string> rj_strings(const rapidjson::Value& v)
{
    std::vector<std::string> out;
    for (const auto& e : v.GetArray()) {
        out.push_back(rj_string(e));
    }
    return out;
}

user rj_user(const rapidjson::Value& o)
{
    return user{o["id"].GetInt64(), rj_string(o["name"]),  rj_string(o["email"]),
                o["age"].GetInt(),  rj_strings(o["tags"]), rj_string(o["created_at"])};
}

post rj_post(const rapidjson::Value& o)
{
    return post{o["id"].GetInt64(),   rj_string(o["author"]), rj_string(o["title"]),
                rj_string(o["body"]), rj_strings(o["tags"]),  o["score"].GetDouble()};
}

template <class T, T (*extract)(const rapidjson::Value&)>
void parse_rapidjson(benchmark::State& state, const std::string& doc)
{
    for (auto _ : state) {
        rapidjson::Document d;
        d.Parse(doc.c_str(), doc.size());
        if (d.HasParseError() || !d.IsArray()) {
            state.SkipWithError("parse failed");
            return;
        }
        std::vector<T> out;
        for (const auto& e : d.GetArray()) {
            out.push_back(extract(e));
        }
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * doc.size()));
}

template <class T>
void parse_boost(benchmark::State& state, const std::string& doc)
{
    for (auto _ : state) {
        auto v = boost::json::value_to<std::vector<T>>(boost::json::parse(doc));
        benchmark::DoNotOptimize(v.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * doc.size()));
}

template <class T>
void parse_nlohmann(benchmark::State& state, const std::string& doc)
{
    for (auto _ : state) {
        auto v = nlohmann::json::parse(doc).get<std::vector<T>>();
        benchmark::DoNotOptimize(v.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * doc.size()));
}

void users_parse_covet(benchmark::State& s)
{
    parse_covet<user>(s, users_json());
}
void users_parse_rapidjson(benchmark::State& s)
{
    parse_rapidjson<user, rj_user>(s, users_json());
}
void users_parse_boost(benchmark::State& s)
{
    parse_boost<user>(s, users_json());
}
void users_parse_nlohmann(benchmark::State& s)
{
    parse_nlohmann<user>(s, users_json());
}
BENCHMARK(users_parse_covet);
BENCHMARK(users_parse_rapidjson);
BENCHMARK(users_parse_boost);
BENCHMARK(users_parse_nlohmann);

void posts64k_parse_covet(benchmark::State& s)
{
    parse_covet<post>(s, posts_64k());
}
void posts64k_parse_rapidjson(benchmark::State& s)
{
    parse_rapidjson<post, rj_post>(s, posts_64k());
}
void posts64k_parse_boost(benchmark::State& s)
{
    parse_boost<post>(s, posts_64k());
}
void posts64k_parse_nlohmann(benchmark::State& s)
{
    parse_nlohmann<post>(s, posts_64k());
}
BENCHMARK(posts64k_parse_covet);
BENCHMARK(posts64k_parse_rapidjson);
BENCHMARK(posts64k_parse_boost);
BENCHMARK(posts64k_parse_nlohmann);

void posts1m_parse_covet(benchmark::State& s)
{
    parse_covet<post>(s, posts_1m());
}
void posts1m_parse_rapidjson(benchmark::State& s)
{
    parse_rapidjson<post, rj_post>(s, posts_1m());
}
void posts1m_parse_boost(benchmark::State& s)
{
    parse_boost<post>(s, posts_1m());
}
void posts1m_parse_nlohmann(benchmark::State& s)
{
    parse_nlohmann<post>(s, posts_1m());
}
BENCHMARK(posts1m_parse_covet);
BENCHMARK(posts1m_parse_rapidjson);
BENCHMARK(posts1m_parse_boost);
BENCHMARK(posts1m_parse_nlohmann);

}  // namespace bench

BENCHMARK_MAIN();
