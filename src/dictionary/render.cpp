// The dictionary written out: HTML, Markdown and CSV.
#include <cstdio>

#include "funnelhouse/common/source.hpp"
#include "funnelhouse/common/text.hpp"
#include "funnelhouse/dictionary/dictionary.hpp"

namespace funnelhouse::dictionary {
namespace {

std::string escape_html(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

// A Markdown table cell: pipes escaped, on one line.
std::string cell(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c == '|')
            out += "\\|";
        else if (c == '\n' || c == '\r')
            out += ' ';
        else
            out += c;
    }
    return out;
}

std::string joined(const std::vector<std::string>& items, const char* separator = ", ") {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
    return out;
}

std::string sources_of(const schema::ContractMeta& meta) {
    std::vector<std::string> names;
    for (const auto s : meta.sources) names.emplace_back(common::to_string(s));
    return joined(names);
}

std::string frequency_in_words(const std::string& frequency) {
    if (frequency == "once_per_session") return "counted once per session";
    if (frequency == "once_per_user") return "counted once per person";
    return "counted every time";
}

std::string stage_title(const std::string& stage) {
    if (stage.empty()) return "Without a funnel stage";
    return std::string(1, static_cast<char>(stage[0] - 'a' + 'A')) + stage.substr(1);
}

std::string fixed(double value, int digits = 2) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
    return buffer;
}

// The facts in one line of words.
std::string facts_in_words(const Facts& f) {
    std::string text = std::to_string(f.events) + " events in the 7 days up to " +
                       (f.up_to.empty() ? std::string("now") : f.up_to) + "; " +
                       std::to_string(f.rejected) + " rejected";
    if (f.events + f.rejected > 0)
        text += " (" +
                fixed(100.0 * static_cast<double>(f.rejected) /
                          static_cast<double>(f.events + f.rejected),
                      1) +
                "%)";
    std::vector<std::string> reasons;
    for (const auto& [reason, n] : f.reasons) reasons.push_back(reason + " " + std::to_string(n));
    if (!reasons.empty()) text += ": " + joined(reasons);
    return text;
}

std::string class_in_words(const Entry& e) {
    std::string text = "declared " + e.meta.value_class;
    if (!e.facts || e.facts->observed_class.empty()) return text + "; not observed yet";
    const auto& f = *e.facts;
    text += ", observed " + f.observed_class;
    if (f.uplift)
        text += " (90-day gross profit per person " + std::string(*f.uplift >= 0 ? "+" : "") +
                fixed(*f.uplift);
    if (f.uplift && f.uplift_low && f.uplift_high)
        text += ", 95% interval " + fixed(*f.uplift_low) + " to " + fixed(*f.uplift_high);
    if (f.uplift) text += ")";
    return text;
}

// The rows of an entry's description list, as (label, text).
std::vector<std::pair<std::string, std::string>> about(const Entry& e) {
    std::vector<std::pair<std::string, std::string>> rows = {
        {"Owner", e.meta.owner},
        {"Funnel stage", e.meta.funnel_stage.empty() ? "none" : e.meta.funnel_stage},
        {"Frequency", e.meta.frequency + " (" + frequency_in_words(e.meta.frequency) + ")"},
        {"Sources", sources_of(e.meta)},
        {"Personal data", e.meta.personal_data.empty() ? "none" : joined(e.meta.personal_data)},
        {"Value class", class_in_words(e)}};
    if (e.facts) rows.emplace_back("Last 7 days", facts_in_words(*e.facts));
    return rows;
}

void html_entry(std::string& out, const Entry& e) {
    out += "<article class=\"event\" id=\"event-" + escape_html(e.name) + "\" data-event=\"" +
           escape_html(e.name) + "\"";
    if (e.facts)
        out += " data-events=\"" + std::to_string(e.facts->events) + "\" data-rejected=\"" +
               std::to_string(e.facts->rejected) + "\"";
    out += ">\n<h3>" + escape_html(e.name) + " <small>" + escape_html(e.kind) + ", version " +
           escape_html(e.version) + "</small></h3>\n<p>" + escape_html(e.meta.description) +
           "</p>\n<dl>\n";
    for (const auto& [label, text] : about(e))
        out += "<dt>" + escape_html(label) + "</dt><dd>" + escape_html(text) + "</dd>\n";
    out += "</dl>\n";
    if (!e.properties.empty()) {
        out +=
            "<table class=\"properties\"><thead><tr><th>Property</th><th>Type</th>"
            "<th>Required</th><th>Allowed values</th><th>Limits</th><th>Description</th>"
            "</tr></thead><tbody>\n";
        for (const auto& p : e.properties)
            out += "<tr><td><code>" + escape_html(p.name) + "</code></td><td>" +
                   escape_html(p.type) + "</td><td>" + (p.required ? "yes" : "no") + "</td><td>" +
                   escape_html(joined(p.allowed)) + "</td><td>" + escape_html(p.limits) +
                   "</td><td>" + escape_html(p.description) + "</td></tr>\n";
        out += "</tbody></table>\n";
    }
    out += "<h4>Versions</h4>\n<ul class=\"versions\">\n";
    for (const auto& v : e.versions)
        out += "<li><b>" + escape_html(v.version) +
               "</b>: " + escape_html(joined(v.changes, "; ")) + "</li>\n";
    out += "</ul>\n<h4>Example</h4>\n<pre class=\"example\"><code>" + escape_html(e.example) +
           "</code></pre>\n";
    if (!e.example_problem.empty())
        out += "<p class=\"problem\">Its contract refuses this example: " +
               escape_html(e.example_problem) + "</p>\n";
    out += "</article>\n";
}

}  // namespace

std::string html_fragment(const std::vector<Entry>& entries) {
    std::string out = "<nav class=\"stages\">";
    std::string stage = "\x01";
    for (const auto& e : entries)
        if (e.meta.funnel_stage != stage) {
            stage = e.meta.funnel_stage;
            out += "<a href=\"#stage-" + escape_html(stage.empty() ? "none" : stage) + "\">" +
                   escape_html(stage_title(stage)) + "</a> ";
        }
    out += "</nav>\n";
    stage = "\x01";
    for (const auto& e : entries) {
        if (e.meta.funnel_stage != stage) {
            if (stage != "\x01") out += "</section>\n";
            stage = e.meta.funnel_stage;
            out += "<section class=\"stage\" id=\"stage-" +
                   escape_html(stage.empty() ? "none" : stage) + "\">\n<h2>" +
                   escape_html(stage_title(stage)) + "</h2>\n";
        }
        html_entry(out, e);
    }
    if (stage != "\x01") out += "</section>\n";
    return out;
}

std::string html_document(const std::vector<Entry>& entries) {
    return "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<title>Data dictionary</title>\n<style>\nbody{font-family:system-ui,sans-serif;"
           "max-width:72rem;margin:auto;padding:1rem}table{border-collapse:collapse}"
           "td,th{border:1px solid #ccc;padding:.2rem .4rem;text-align:left;vertical-align:top}"
           "dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px}dt{font-weight:bold}"
           "dd{margin:0}pre{background:#f4f4f4;padding:.5rem}\n</style>\n</head>\n"
           "<body>\n<h1>Data dictionary</h1>\n" +
           html_fragment(entries) + "</body>\n</html>\n";
}

std::string markdown(const std::vector<Entry>& entries) {
    std::string out = "# Data dictionary\n";
    std::string stage = "\x01";
    for (const auto& e : entries) {
        if (e.meta.funnel_stage != stage) {
            stage = e.meta.funnel_stage;
            out += "\n## " + stage_title(stage) + "\n";
        }
        out += "\n### " + e.name + " (" + e.kind + ", version " + e.version + ")\n\n" +
               e.meta.description + "\n\n| | |\n|---|---|\n";
        for (const auto& [label, text] : about(e))
            out += "| " + label + " | " + cell(text) + " |\n";
        if (!e.properties.empty()) {
            out +=
                "\n| Property | Type | Required | Allowed values | Limits | Description |\n"
                "|---|---|---|---|---|---|\n";
            for (const auto& p : e.properties)
                out += "| `" + cell(p.name) + "` | " + cell(p.type) + " | " +
                       (p.required ? "yes" : "no") + " | " + cell(joined(p.allowed)) + " | " +
                       cell(p.limits) + " | " + cell(p.description) + " |\n";
        }
        out += "\nVersions:\n\n";
        for (const auto& v : e.versions)
            out += "- " + v.version + ": " + joined(v.changes, "; ") + "\n";
        out += "\nExample:\n\n```json\n" + e.example + "\n```\n";
        if (!e.example_problem.empty())
            out += "\nIts contract refuses this example: " + e.example_problem + "\n";
    }
    return out;
}

std::string csv(const std::vector<Entry>& entries) {
    std::string out =
        "event,kind,funnel_stage,version,description,owner,frequency,sources,personal_data,"
        "declared_class,observed_class,events_7d,rejected_7d,property,type,required,"
        "allowed_values,limits,property_description\r\n";
    const auto f = [](std::string_view text) { return common::csv_field(text); };
    for (const auto& e : entries) {
        std::string head =
            f(e.name) + ',' + f(e.kind) + ',' + f(e.meta.funnel_stage) + ',' + f(e.version) + ',' +
            f(e.meta.description) + ',' + f(e.meta.owner) + ',' + f(e.meta.frequency) + ',' +
            f(sources_of(e.meta)) + ',' + f(joined(e.meta.personal_data)) + ',' +
            f(e.meta.value_class) + ',' +
            (e.facts ? f(e.facts->observed_class) + ',' + std::to_string(e.facts->events) + ',' +
                           std::to_string(e.facts->rejected)
                     : std::string(",,"));
        if (e.properties.empty()) out += head + ",,,,,,\r\n";
        for (const auto& p : e.properties)
            out += head + ',' + f(p.name) + ',' + f(p.type) + ',' + (p.required ? "yes" : "no") +
                   ',' + f(joined(p.allowed, " ")) + ',' + f(p.limits) + ',' + f(p.description) +
                   "\r\n";
    }
    return out;
}

}  // namespace funnelhouse::dictionary
