#include "funnelhouse/models/catalog.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "funnelhouse/common/file.hpp"
#include "funnelhouse/common/text.hpp"

namespace funnelhouse::models {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, int line, const std::string& message) {
    throw CatalogError(path.string() + (line > 0 ? ":" + std::to_string(line) : "") + ": " +
                       message);
}

bool valid_name(const std::string& name) {
    if (name.empty() || name.size() > 63 ||
        !(std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_'))
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

Kind parse_kind(const std::string& value, const std::filesystem::path& path, int line) {
    if (value == "table") return Kind::table;
    if (value == "view") return Kind::view;
    if (value == "function") return Kind::function;
    fail(path, line, "kind must be table, view or function, not '" + value + "'");
}

Index parse_index(std::string value, const std::filesystem::path& path, int line) {
    Index index;
    if (value.rfind("unique ", 0) == 0) {
        index.unique = true;
        value = common::trim(value.substr(7));
    }
    if (value.size() < 3 || value.front() != '(' || value.back() != ')')
        fail(path, line, "index must be a column list such as (person_id) or unique (order_id)");
    index.columns = value;
    return index;
}

std::vector<std::string> parse_reads(const std::string& value) {
    std::vector<std::string> reads;
    if (value == "(no model)") return reads;
    std::stringstream list(value);
    std::string item;
    while (std::getline(list, item, ',')) reads.push_back(common::trim(item));
    return reads;
}

// One `-- key: value` line of the header; other comment lines describe.
void read_header_line(ModelFile& file, const std::string& comment, int line, bool& saw_kind) {
    const auto colon = comment.find(':');
    if (colon == std::string::npos) return;
    const auto key = comment.substr(0, colon);
    const auto value = common::trim(comment.substr(colon + 1));
    if (key == "kind") {
        file.kind = parse_kind(value, file.path, line);
        saw_kind = true;
    } else if (key == "grain") {
        file.grain = value;
    } else if (key == "index") {
        file.indexes.push_back(parse_index(value, file.path, line));
    } else if (key == "distribute") {
        if (!valid_name(value))
            fail(file.path, line, "distribute names one column, such as person_id");
        file.distribute = value;
    } else if (key == "reads") {
        file.reads = parse_reads(value);
    }
}

// The columns of an index's list, "(a, b)".
std::vector<std::string> index_columns(const Index& index) {
    std::vector<std::string> columns;
    std::stringstream list(index.columns.substr(1, index.columns.size() - 2));
    for (std::string column; std::getline(list, column, ',');)
        columns.push_back(common::trim(column));
    return columns;
}

// Citus keeps a unique index on each shard: only one that includes the
// distribution column holds for the whole table.
void check_distribution(const ModelFile& file) {
    if (file.kind != Kind::table)
        fail(file.path, file.sql_line, "only tables are distributed");
    for (const auto& index : file.indexes) {
        if (!index.unique) continue;
        const auto columns = index_columns(index);
        if (std::find(columns.begin(), columns.end(), file.distribute) == columns.end())
            fail(file.path, file.sql_line,
                 "unique index " + index.columns + " must include the distribution column " +
                     file.distribute);
    }
}

void check_statement(const ModelFile& file) {
    if (common::trim(file.sql).empty())
        fail(file.path, file.sql_line, "no statement after the header");
    if (!file.distribute.empty()) check_distribution(file);
    if (file.kind == Kind::function) {
        const auto expected = "CREATE OR REPLACE FUNCTION models." + file.name + "(";
        if (file.sql.rfind(expected, 0) != 0)
            fail(file.path, file.sql_line, "a function file starts with '" + expected + "'");
        return;
    }
    if (!file.indexes.empty() && file.kind != Kind::table)
        fail(file.path, file.sql_line, "only tables have indexes");
    if (file.grain.empty())
        fail(file.path, 0, "the header needs a 'grain:' line (what one row is)");
}

}  // namespace

std::string_view to_string(Kind kind) {
    switch (kind) {
        case Kind::table:
            return "table";
        case Kind::view:
            return "view";
        case Kind::function:
            return "function";
    }
    return "?";
}

ModelFile parse_model_file(std::string_view text, const std::filesystem::path& path) {
    ModelFile file;
    file.path = path;
    file.name = path.stem().string();
    if (!valid_name(file.name))
        fail(path, 0, "a model file is named <name>.sql, lower case letters, digits and '_'");
    bool saw_kind = false;
    bool saw_reads = false;
    std::size_t at = 0;
    int line = 1;
    while (at < text.size() && text.compare(at, 2, "--") == 0) {
        auto end = text.find('\n', at);
        if (end == std::string_view::npos) end = text.size();
        const auto comment = common::trim(text.substr(at + 2, end - at - 2));
        saw_reads = saw_reads || comment.rfind("reads:", 0) == 0;
        read_header_line(file, comment, line, saw_kind);
        at = std::min(end + 1, text.size());
        ++line;
    }
    if (!saw_kind) fail(path, 0, "the header needs a 'kind:' line (table, view or function)");
    if (!saw_reads) fail(path, 0, "the header needs a 'reads:' line (the models it reads)");
    file.sql = std::string(text.substr(at));
    file.sql_line = line;
    check_statement(file);
    file.references = find_references(file.sql, file.sql_line, file.kind == Kind::function);
    return file;
}

const ModelFile* Catalog::find(std::string_view name) const {
    for (const auto& file : files)
        if (file.name == name) return &file;
    return nullptr;
}

std::size_t Catalog::model_count() const {
    return static_cast<std::size_t>(std::count_if(
        files.begin(), files.end(), [](const ModelFile& f) { return f.kind != Kind::function; }));
}

Catalog load_catalog(const std::vector<std::filesystem::path>& folders) {
    std::vector<ModelFile> files;
    for (const auto& folder : folders) {
        std::error_code error;
        if (!std::filesystem::is_directory(folder, error))
            throw CatalogError("model folder '" + folder.string() + "' does not exist");
        std::vector<std::filesystem::path> paths;
        for (const auto& entry : std::filesystem::recursive_directory_iterator(folder))
            if (entry.is_regular_file() && entry.path().extension() == ".sql")
                paths.push_back(entry.path());
        std::sort(paths.begin(), paths.end());
        for (const auto& path : paths) {
            const auto text = common::read_file(path);
            if (!text) throw CatalogError("cannot read '" + path.string() + "'");
            files.push_back(parse_model_file(*text, path));
        }
    }
    return order_files(std::move(files));
}

std::string in_buffer(const ModelFile& file, const Catalog& catalog, std::string_view buffer) {
    std::string sql;
    std::size_t copied = 0;
    for (const auto& reference : file.references) {
        const auto* target = catalog.find(reference.name);
        if (!target || !target->made_in_buffer()) continue;
        sql.append(file.sql, copied, reference.offset - copied);
        sql.append(buffer);
        copied = reference.offset + reference.length;
    }
    sql.append(file.sql, copied);
    return sql;
}

}  // namespace funnelhouse::models
