//! A self-contained HTML report: the results' Markdown rendered as HTML (headings,
//! paragraphs, lists, tables) and the plots embedded as PNG data URIs, in one file that
//! opens anywhere without its folder.

use std::path::PathBuf;

use crate::error::{Context, Result};

/// A plot to embed.
pub struct Figure {
    pub title: String,
    pub png: PathBuf,
}

/// The report page. On load, a small script records in `<body data-rendered>` how many
/// tables there are and how many images decoded, so a headless browser can check it.
pub fn html_report(title: &str, markdown: &str, figures: &[Figure]) -> Result<String> {
    let mut body = markdown_to_html(markdown);
    for f in figures {
        let bytes =
            std::fs::read(&f.png).with_context(|| format!("embedding {}", f.png.display()))?;
        body.push_str(&format!(
            "<figure><img alt=\"{0}\" src=\"data:image/png;base64,{1}\"><figcaption>{0}</figcaption></figure>\n",
            escape(&f.title),
            base64(&bytes)
        ));
    }
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\n\
         body {{ font-family: sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em; color: #222; }}\n\
         table {{ border-collapse: collapse; margin: 1em 0; }}\n\
         th, td {{ border: 1px solid #bbb; padding: 0.3em 0.6em; }}\n\
         td {{ text-align: right; }} td:first-child {{ text-align: left; }}\n\
         th {{ background: #eee; }} figure {{ margin: 1.5em 0; }} img {{ max-width: 100%; }}\n\
         </style></head>\n<body>\n{body}<script>\n\
         window.addEventListener('load', function () {{\n\
         var imgs = Array.from(document.images);\n\
         var ok = imgs.filter(function (i) {{ return i.complete && i.naturalWidth > 0; }}).length;\n\
         var rows = document.querySelectorAll('table tr').length;\n\
         document.body.setAttribute('data-rendered', 'tables=' + document.querySelectorAll('table').length + ' rows=' + rows + ' images=' + ok + '/' + imgs.length);\n\
         }});\n</script>\n</body></html>\n",
        escape(title)
    ))
}

/// The subset of Markdown avad writes: `#` headings, paragraphs, `- ` lists and pipe tables.
pub fn markdown_to_html(md: &str) -> String {
    let mut out = String::new();
    let lines: Vec<&str> = md.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_end();
        if line.trim().is_empty() {
            i += 1;
        } else if let Some(h) = line.strip_prefix("# ") {
            out.push_str(&format!("<h1>{}</h1>\n", inline(h)));
            i += 1;
        } else if let Some(h) = line.strip_prefix("## ") {
            out.push_str(&format!("<h2>{}</h2>\n", inline(h)));
            i += 1;
        } else if line.starts_with('|') {
            out.push_str("<table>\n");
            let mut first = true;
            while i < lines.len() && lines[i].starts_with('|') {
                let cells: Vec<&str> = lines[i]
                    .trim()
                    .trim_matches('|')
                    .split('|')
                    .map(str::trim)
                    .collect();
                let separator = cells
                    .iter()
                    .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':')));
                if !separator {
                    let tag = if first { "th" } else { "td" };
                    out.push_str("<tr>");
                    for c in cells {
                        out.push_str(&format!(
                            "<{tag}>{}</{tag}>",
                            inline(&c.replace("\\|", "|"))
                        ));
                    }
                    out.push_str("</tr>\n");
                    first = false;
                }
                i += 1;
            }
            out.push_str("</table>\n");
        } else if line.starts_with("- ") {
            out.push_str("<ul>\n");
            while i < lines.len() && lines[i].starts_with("- ") {
                out.push_str(&format!("<li>{}</li>\n", inline(&lines[i][2..])));
                i += 1;
            }
            out.push_str("</ul>\n");
        } else {
            let mut para = Vec::new();
            while i < lines.len()
                && !lines[i].trim().is_empty()
                && !lines[i].starts_with(['|', '#'])
                && !lines[i].starts_with("- ")
            {
                para.push(lines[i].trim());
                i += 1;
            }
            out.push_str(&format!("<p>{}</p>\n", inline(&para.join(" "))));
        }
    }
    out
}

fn inline(text: &str) -> String {
    escape(text)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Standard base64 with padding (RFC 4648).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn markdown_tables_lists_and_headings_become_html() {
        let md = "# Title\n\nSome <text>\nmore.\n\n| a | b |\n|---|---:|\n| x | 1.0 |\n| y | 2.0 |\n\n- one\n- two\n";
        let html = markdown_to_html(md);
        assert_eq!(
            html,
            "<h1>Title</h1>\n<p>Some &lt;text&gt; more.</p>\n<table>\n<tr><th>a</th><th>b</th></tr>\n\
             <tr><td>x</td><td>1.0</td></tr>\n<tr><td>y</td><td>2.0</td></tr>\n</table>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
        );
    }
}
