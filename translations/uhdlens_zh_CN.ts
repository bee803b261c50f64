<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context>
    <name>ConversationExport</name>
    <message>
        <source>UHD Lens conversation about %1</source>
        <translation>关于 %1 的 UHD Lens 对话</translation>
    </message>
    <message>
        <source>Image</source>
        <translation>图像</translation>
    </message>
    <message>
        <source>Region</source>
        <translation>区域</translation>
    </message>
    <message>
        <source>Plan</source>
        <translation>切片方案</translation>
    </message>
    <message>
        <source>slices</source>
        <translation>个切片</translation>
    </message>
    <message>
        <source>not sliced</source>
        <translation>未切片</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>weights SHA-256</source>
        <translation>权重 SHA-256</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Error:</source>
        <translation>错误：</translation>
    </message>
    <message>
        <source>image tokens</source>
        <translation>个图像 token</translation>
    </message>
    <message>
        <source>tokens generated</source>
        <translation>个 token 已生成</translation>
    </message>
    <message>
        <source>image from cache</source>
        <translation>图像来自缓存</translation>
    </message>
    <message>
        <source>Question</source>
        <translation>问题</translation>
    </message>
    <message>
        <source>UHD plan</source>
        <translation>UHD 方案</translation>
    </message>
    <message>
        <source>LLaVA-1.5 baseline</source>
        <translation>LLaVA-1.5 基线</translation>
    </message>
</context>
<context>
    <name>ErrorText</name>
    <message>
        <source>The file does not exist.</source>
        <translation>文件不存在。</translation>
    </message>
    <message>
        <source>This is a folder or a special file, not an image file.</source>
        <translation>这是文件夹或特殊文件，不是图像文件。</translation>
    </message>
    <message>
        <source>The file cannot be read (check its permissions).</source>
        <translation>无法读取该文件（请检查权限）。</translation>
    </message>
    <message>
        <source>The file is not an image UHD Lens can read.</source>
        <translation>该文件不是 UHD Lens 能读取的图像。</translation>
    </message>
    <message>
        <source>The image is damaged or incomplete.</source>
        <translation>图像已损坏或不完整。</translation>
    </message>
    <message>
        <source>The image has no pixels (zero width or height).</source>
        <translation>图像没有像素（宽度或高度为零）。</translation>
    </message>
    <message>
        <source>The image is too large to open safely (over the pixel limit).</source>
        <translation>图像过大，无法安全打开（超出像素上限）。</translation>
    </message>
    <message>
        <source>The model&apos;s weights are incomplete (a tensor is missing).</source>
        <translation>模型权重不完整（缺少张量）。</translation>
    </message>
    <message>
        <source>The model&apos;s weights do not match its configuration.</source>
        <translation>模型权重与其配置不匹配。</translation>
    </message>
    <message>
        <source>This model family is not supported.</source>
        <translation>不支持此模型系列。</translation>
    </message>
    <message>
        <source>The model&apos;s tokenizer is missing or damaged.</source>
        <translation>模型的分词器缺失或已损坏。</translation>
    </message>
    <message>
        <source>A setting is out of range.</source>
        <translation>某项设置超出范围。</translation>
    </message>
    <message>
        <source>The image and question do not fit into the model&apos;s context. Allow fewer slices or ask a shorter question.</source>
        <translation>图像和问题超出了模型的上下文长度。请减少切片数量或缩短问题。</translation>
    </message>
    <message>
        <source>The chosen compute device is not available.</source>
        <translation>所选计算设备不可用。</translation>
    </message>
    <message>
        <source>Cancelled.</source>
        <translation>已取消。</translation>
    </message>
    <message>
        <source>An internal error occurred.</source>
        <translation>发生内部错误。</translation>
    </message>
    <message>
        <source>Concerning: %1</source>
        <translation>涉及：%1</translation>
    </message>
    <message>
        <source>Details: %1</source>
        <translation>详情：%1</translation>
    </message>
    <message>
        <source>An unexpected error occurred.</source>
        <translation>发生意外错误。</translation>
    </message>
    <message>
        <source>The model keeps weights in a PyTorch pickle file, which UHD Lens does not load directly; it can convert them to safetensors.</source>
        <translation>该模型的权重保存在 PyTorch pickle 文件中，UHD Lens 不会直接加载它；可以将其转换为 safetensors。</translation>
    </message>
    <message>
        <source>A pickle weight file contains something other than plain tensors (or is in an old format); it was not converted.</source>
        <translation>某个 pickle 权重文件包含普通张量以外的内容（或是旧格式），未进行转换。</translation>
    </message>
    <message>
        <source>The model&apos;s weight files are damaged or not in a format UHD Lens reads (safetensors or GGUF).</source>
        <translation>模型的权重文件已损坏，或不是 UHD Lens 能读取的格式（safetensors 或 GGUF）。</translation>
    </message>
    <message>
        <source>This is not a model UHD Lens can load (config.json or the GGUF metadata is missing or invalid, or the files do not belong together).</source>
        <translation>这不是 UHD Lens 能加载的模型（config.json 或 GGUF 元数据缺失或无效，或者这些文件不属于同一个模型）。</translation>
    </message>
    <message>
        <source>A GGUF vision model needs two files, the language model and its mmproj (vision projector) file; one of them was not found.</source>
        <translation>GGUF 视觉模型需要两个文件：语言模型文件和它的 mmproj（视觉投影器）文件；其中一个未找到。</translation>
    </message>
    <message>
        <source>It is not clear which two GGUF files make the model (several candidates, or two files of the same kind): choose the language-model file and then its mmproj file.</source>
        <translation>无法确定哪两个 GGUF 文件组成该模型（有多个候选，或两个文件属于同一类）：请先选择语言模型文件，再选择它的 mmproj 文件。</translation>
    </message>
    <message>
        <source>The two GGUF files do not belong together: the mmproj is not a projector UHD Lens supports or does not fit this language model.</source>
        <translation>这两个 GGUF 文件不匹配：该 mmproj 不是 UHD Lens 支持的投影器，或与此语言模型不相符。</translation>
    </message>
    <message>
        <source>The folder to save in does not exist.</source>
        <translation>要保存到的文件夹不存在。</translation>
    </message>
    <message>
        <source>UHD Lens may not write in this folder (check its permissions, or choose another one).</source>
        <translation>UHD Lens 无权写入此文件夹（请检查权限，或选择其他文件夹）。</translation>
    </message>
    <message>
        <source>The disk is full: free some space, or choose another folder.</source>
        <translation>磁盘已满：请释放一些空间，或选择其他文件夹。</translation>
    </message>
    <message>
        <source>The file could not be saved.</source>
        <translation>无法保存该文件。</translation>
    </message>
    <message>
        <source>The file already there is unchanged.</source>
        <translation>原有文件保持不变。</translation>
    </message>
    <message>
        <source>Nothing was written.</source>
        <translation>没有写入任何内容。</translation>
    </message>
    <message>
        <source>cannot write the file</source>
        <translation>无法写入该文件</translation>
    </message>
    <message>
        <source>The text recognition data (Tesseract) for a language is not installed.</source>
        <translation>某种语言的文字识别数据（Tesseract）未安装。</translation>
    </message>
</context>
<context>
    <name>main</name>
    <message>
        <source>Ask questions about images of any size; see how each image is sliced and what it costs.</source>
        <translation>就任意尺寸的图像提问；查看每张图像如何被切片以及其代价。</translation>
    </message>
    <message>
        <source>Load the model in DIR.</source>
        <translation>加载 DIR 中的模型。</translation>
    </message>
    <message>
        <source>Save a PNG of the main window to FILE once the first plan is drawn, then quit.</source>
        <translation>绘制出第一个切片方案后，将主窗口保存为 PNG 文件 FILE，然后退出。</translation>
    </message>
    <message>
        <source>Initial window size, e.g. 1600x1000.</source>
        <translation>初始窗口大小，例如 1600x1000。</translation>
    </message>
    <message>
        <source>Do not load the saved or bundled model.</source>
        <translation>不加载已保存的模型或内置模型。</translation>
    </message>
    <message>
        <source>Image files to open.</source>
        <translation>要打开的图像文件。</translation>
    </message>
    <message>
        <source>Ask QUESTION about the first image once the model is loaded (with --screenshot: grab after the answer).</source>
        <translation>模型加载后就第一张图像提出问题 QUESTION（与 --screenshot 同用时：回答完成后再截图）。</translation>
    </message>
    <message>
        <source>Answer --ask also with the LLaVA-1.5 baseline (A/B).</source>
        <translation>同时用 LLaVA-1.5 基线回答 --ask 的问题（A/B 对比）。</translation>
    </message>
    <message>
        <source>With a GGUF language-model file as --model: its mmproj (vision projector) file.</source>
        <translation>当 --model 是 GGUF 语言模型文件时：它的 mmproj（视觉投影器）文件。</translation>
    </message>
    <message>
        <source>Open the Batch dialog on PATH (a folder or an image) and run it once the model is loaded: --ask is the question, else the model&apos;s transcription prompt (with --screenshot: grab the dialog when the run ends).</source>
        <translation>对 PATH（文件夹或图像）打开批处理对话框，并在模型加载后运行：--ask 为问题，否则使用模型的转录提示（与 --screenshot 同用时：运行结束后截取该对话框）。</translation>
    </message>
    <message>
        <source>The --batch output file: .jsonl, .csv or .md.</source>
        <translation>--batch 的输出文件：.jsonl、.csv 或 .md。</translation>
    </message>
    <message>
        <source>Show the Markdown text in FILE as a recorded answer about the first image (for documentation screenshots: it is not the model&apos;s answer).</source>
        <translation>将 FILE 中的 Markdown 文本作为第一张图像的已记录回答显示（用于文档截图：它不是模型的回答）。</translation>
    </message>
    <message>
        <source>Transcribe this page.</source>
        <translation>转录这一页。</translation>
    </message>
    <message>
        <source>Start by selecting a screen region to open (Esc cancels).</source>
        <translation>启动时先选择要打开的屏幕区域（按 Esc 取消）。</translation>
    </message>
    <message>
        <source>With --capture: transcribe the region with the loaded model and copy the text to the clipboard, without showing the main window.</source>
        <translation>与 --capture 同用：用已加载的模型转录该区域，并把文字复制到剪贴板，不显示主窗口。</translation>
    </message>
    <message>
        <source>Do not hand the arguments to a running UHD Lens; start a new one.</source>
        <translation>不要把参数交给正在运行的 UHD Lens；另外启动一个新实例。</translation>
    </message>
    <message>
        <source>Show the text layer of the first image (with --screenshot: grab once its text is recognised).</source>
        <translation>显示第一张图像的文字层（配合 --screenshot：文字识别完成后截图）。</translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::BatchDialog</name>
    <message>
        <source>Batch</source>
        <translation>批处理</translation>
    </message>
    <message>
        <source>Images: the folders are read recursively; images are recognised by their content.</source>
        <translation>图像：递归读取文件夹；按文件内容识别图像。</translation>
    </message>
    <message>
        <source>Add &amp;Folder…</source>
        <translation>添加文件夹(&amp;F)…</translation>
    </message>
    <message>
        <source>Add F&amp;iles…</source>
        <translation>添加文件(&amp;I)…</translation>
    </message>
    <message>
        <source>C&amp;lear</source>
        <translation>清空(&amp;L)</translation>
    </message>
    <message>
        <source>&amp;Ask:</source>
        <translation>提问(&amp;A)：</translation>
    </message>
    <message>
        <source>The question asked about every image</source>
        <translation>对每张图像提出的问题</translation>
    </message>
    <message>
        <source>&amp;Transcribe: the model&apos;s transcription prompt (text in reading order, tables as Markdown)</source>
        <translation>转录(&amp;T)：使用模型的转录提示（按阅读顺序输出文字，表格写成 Markdown）</translation>
    </message>
    <message>
        <source>&amp;Output file:</source>
        <translation>输出文件(&amp;O)：</translation>
    </message>
    <message>
        <source>results.jsonl, results.csv or results.md (replaced if it exists)</source>
        <translation>results.jsonl、results.csv 或 results.md（已存在则覆盖）</translation>
    </message>
    <message>
        <source>C&amp;hoose…</source>
        <translation>选择(&amp;H)…</translation>
    </message>
    <message>
        <source>&amp;Start</source>
        <translation>开始(&amp;S)</translation>
    </message>
    <message>
        <source>&amp;Cancel Run</source>
        <translation>取消运行(&amp;C)</translation>
    </message>
    <message>
        <source>Stop inside the current image; the output file keeps the records written so far</source>
        <translation>在当前图像处停止；输出文件保留已写入的记录</translation>
    </message>
    <message>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>Grid</source>
        <translation>网格</translation>
    </message>
    <message>
        <source>Tokens</source>
        <translation>Token</translation>
    </message>
    <message>
        <source>Answer or error</source>
        <translation>回答或错误</translation>
    </message>
    <message>
        <source>Double-click a row to open the image with its answer</source>
        <translation>双击一行，打开该图像及其回答</translation>
    </message>
    <message>
        <source>No model is loaded: load one to run a batch.</source>
        <translation>尚未加载模型：请先加载模型再运行批处理。</translation>
    </message>
    <message>
        <source>%1, at most %2 slices</source>
        <translation>%1，最多 %2 个切片</translation>
    </message>
    <message numerus="yes">
        <source>Model %1 · slicing %2 (from the plan panel) · at most %n new token(s) per answer (Preferences)</source>
        <translation>
            <numerusform>模型 %1 · 切片 %2（来自切片方案面板）· 每个回答最多 %n 个新 token（首选项）</numerusform>
        </translation>
    </message>
    <message>
        <source>Add a Folder of Images</source>
        <translation>添加图像文件夹</translation>
    </message>
    <message>
        <source>Add Images</source>
        <translation>添加图像</translation>
    </message>
    <message>
        <source>Batch Output File</source>
        <translation>批处理输出文件</translation>
    </message>
    <message>
        <source>JSON lines (*.jsonl)</source>
        <translation>JSON lines 文件 (*.jsonl)</translation>
    </message>
    <message>
        <source>CSV (*.csv)</source>
        <translation>CSV 文件 (*.csv)</translation>
    </message>
    <message>
        <source>Markdown (*.md)</source>
        <translation>Markdown 文件 (*.md)</translation>
    </message>
    <message>
        <source>A batch is already running.</source>
        <translation>已有批处理正在运行。</translation>
    </message>
    <message>
        <source>Add a folder or image files first.</source>
        <translation>请先添加文件夹或图像文件。</translation>
    </message>
    <message>
        <source>Type the question to ask about every image, or choose Transcribe.</source>
        <translation>请输入对每张图像提出的问题，或选择“转录”。</translation>
    </message>
    <message>
        <source>Choose the output file.</source>
        <translation>请选择输出文件。</translation>
    </message>
    <message>
        <source>Cannot tell the output format of %1: name it .jsonl, .csv or .md.</source>
        <translation>无法判断 %1 的输出格式：请使用 .jsonl、.csv 或 .md 扩展名。</translation>
    </message>
    <message>
        <source>%1 is a folder; choose a file.</source>
        <translation>%1 是文件夹；请选择一个文件。</translation>
    </message>
    <message>
        <source>Looking for images…</source>
        <translation>正在查找图像…</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
    <message numerus="yes">
        <source>%n image(s) to do</source>
        <translation>
            <numerusform>待处理 %n 张图像</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n non-image file(s) skipped</source>
        <translation>
            <numerusform>跳过了 %n 个非图像文件</numerusform>
        </translation>
    </message>
    <message>
        <source>Question: %1</source>
        <translation>问题：%1</translation>
    </message>
    <message>
        <source>working…</source>
        <translation>处理中…</translation>
    </message>
    <message numerus="yes">
        <source>%1×%2, %n slice(s)</source>
        <translation>
            <numerusform>%1×%2，%n 个切片</numerusform>
        </translation>
    </message>
    <message>
        <source>overview only</source>
        <translation>仅概览图</translation>
    </message>
    <message>
        <source>%1 visual tokens; %2 prompt tokens; %3 tokens generated</source>
        <translation>%1 个视觉 token；%2 个提示 token；已生成 %3 个 token</translation>
    </message>
    <message>
        <source>%1 / %2 images · %3 images/min · ETA %4</source>
        <translation>%1 / %2 张图像 · 每分钟 %3 张 · 预计剩余 %4</translation>
    </message>
    <message>
        <source>cancelled (not in the output file)</source>
        <translation>已取消（未写入输出文件）</translation>
    </message>
    <message>
        <source>Cancelled after %1 of %2 images; %3 holds their records.</source>
        <translation>已在 %2 张图像中的第 %1 张后取消；%3 保存了它们的记录。</translation>
    </message>
    <message numerus="yes">
        <source>Done: %n image(s)</source>
        <translation>
            <numerusform>完成：%n 张图像</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n failed</source>
        <translation>
            <numerusform>%n 张失败</numerusform>
        </translation>
    </message>
    <message>
        <source>wrote %1</source>
        <translation>已写入 %1</translation>
    </message>
    <message>
        <source>The batch stopped: %1</source>
        <translation>批处理已停止：%1</translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::CaptureTranscriber</name>
    <message>
        <source>Waiting for the model to load…</source>
        <translation>正在等待模型加载…</translation>
    </message>
    <message>
        <source>The model could not be loaded: %1</source>
        <translation>无法加载模型：%1</translation>
    </message>
    <message>
        <source>No model is loaded: open UHD Lens and choose one first.</source>
        <translation>尚未加载模型：请先打开 UHD Lens 并选择一个模型。</translation>
    </message>
    <message>
        <source>The captured image was closed.</source>
        <translation>截取的图像已被关闭。</translation>
    </message>
    <message>
        <source>Transcribing…</source>
        <translation>正在转录…</translation>
    </message>
    <message>
        <source>The question could not be asked.</source>
        <translation>无法提出该问题。</translation>
    </message>
    <message>
        <source>Transcription stopped.</source>
        <translation>转录已停止。</translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::ChatPanel</name>
    <message>
        <source>&amp;Send</source>
        <translation>发送(&amp;S)</translation>
    </message>
    <message>
        <source>Ask the question about this image (Ctrl+Enter)</source>
        <translation>就这张图像提问（Ctrl+Enter）</translation>
    </message>
    <message>
        <source>S&amp;top</source>
        <translation>停止(&amp;T)</translation>
    </message>
    <message>
        <source>Stop the answer (Esc)</source>
        <translation>停止回答（Esc）</translation>
    </message>
    <message>
        <source>&amp;Regenerate</source>
        <translation>重新生成(&amp;R)</translation>
    </message>
    <message>
        <source>Answer the last question again, starting the model&apos;s context afresh (Ctrl+Shift+R)</source>
        <translation>重新回答上一个问题，模型上下文从头开始（Ctrl+Shift+R）</translation>
    </message>
    <message>
        <source>&amp;Copy Answer</source>
        <translation>复制回答(&amp;C)</translation>
    </message>
    <message>
        <source>Copy the last answer to the clipboard (Ctrl+Shift+C)</source>
        <translation>将最后一个回答复制到剪贴板（Ctrl+Shift+C）</translation>
    </message>
    <message>
        <source>A/B vs LLaVA-1.5</source>
        <translation>A/B 对比 LLaVA-1.5</translation>
    </message>
    <message>
        <source>Also answer with the LLaVA-1.5 baseline plan (one 336×336 view) and show both side by side (Ctrl+B)</source>
        <translation>同时用 LLaVA-1.5 基线方案（单个 336×336 视图）回答，并排显示两者（Ctrl+B）</translation>
    </message>
    <message>
        <source>C&amp;lear Conversation</source>
        <translation>清空对话(&amp;L)</translation>
    </message>
    <message>
        <source>image tokens from cache</source>
        <translation>图像 token 来自缓存</translation>
    </message>
    <message>
        <source>This follow-up reused the image&apos;s encoded tokens; no slice was encoded again.</source>
        <translation>此追问复用了图像已编码的 token，没有重新编码任何切片。</translation>
    </message>
    <message>
        <source>Ask about this image… (Ctrl+Enter sends)</source>
        <translation>就这张图像提问……（Ctrl+Enter 发送）</translation>
    </message>
    <message>
        <source>No image is open.</source>
        <translation>没有打开的图像。</translation>
    </message>
    <message>
        <source>Ask a question about %1.</source>
        <translation>就 %1 提一个问题。</translation>
    </message>
    <message>
        <source>No model is loaded. The slice plan works without one; open a model folder (Model &gt; Open Model Folder) to ask questions.</source>
        <translation>尚未加载模型。切片方案无需模型即可查看；要提问，请打开模型文件夹（模型 &gt; 打开模型文件夹）。</translation>
    </message>
    <message>
        <source>%1 image tokens</source>
        <translation>%1 个图像 token</translation>
    </message>
    <message>
        <source>%1 tokens generated</source>
        <translation>已生成 %1 个 token</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 秒</translation>
    </message>
    <message>
        <source>%1 tokens/s</source>
        <translation>%1 token/秒</translation>
    </message>
    <message>
        <source>image from cache</source>
        <translation>图像来自缓存</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <source>You:</source>
        <translation>你：</translation>
    </message>
    <message>
        <source>UHD plan</source>
        <translation>UHD 方案</translation>
    </message>
    <message>
        <source>LLaVA-1.5 baseline</source>
        <translation>LLaVA-1.5 基线</translation>
    </message>
    <message>
        <source>Model:</source>
        <translation>模型：</translation>
    </message>
    <message>
        <source>Suggested questions:</source>
        <translation>推荐的问题：</translation>
    </message>
    <message>
        <source>(no answer: the model ended its reply without any text)</source>
        <translation>（无回答：模型未输出任何文字便结束了回复）</translation>
    </message>
    <message>
        <source>&amp;Transcribe</source>
        <translation>转录(&amp;T)</translation>
    </message>
    <message>
        <source>Ask the model for all the text of this image in reading order, tables as Markdown (Ctrl+T)</source>
        <translation>让模型按阅读顺序给出这张图像中的全部文字，表格写成 Markdown（Ctrl+T）</translation>
    </message>
    <message>
        <source>Copy as Markdown</source>
        <translation>复制为 Markdown</translation>
    </message>
    <message>
        <source>Copy as plain text</source>
        <translation>复制为纯文本</translation>
    </message>
    <message>
        <source>Copy Answer as Markdown</source>
        <translation>将回答复制为 Markdown</translation>
    </message>
    <message>
        <source>Copy Answer as Plain Text</source>
        <translation>将回答复制为纯文本</translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::EngineWorker</name>
    <message>
        <source>No model is loaded. Open a model folder (Model &gt; Open Model Folder) to ask questions.</source>
        <translation>尚未加载模型。要提问，请打开模型文件夹（模型 &gt; 打开模型文件夹）。</translation>
    </message>
    <message numerus="yes">
        <source>%1 → %2 (%n tensor(s))</source>
        <translation>
            <numerusform>%1 → %2（%n 个张量）</numerusform>
        </translation>
    </message>
    <message>
        <source>Cannot tell the output format of %1: name it .jsonl, .csv or .md.</source>
        <translation>无法判断 %1 的输出格式：请使用 .jsonl、.csv 或 .md 扩展名。</translation>
    </message>
    <message numerus="yes">
        <source>No image found in the given files and folders (%n other file(s) skipped).</source>
        <translation>
            <numerusform>在所给文件和文件夹中没有找到图像（跳过了 %n 个其他文件）。</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::MainWindow</name>
    <message>
        <source>Cannot open image</source>
        <translation>无法打开图像</translation>
    </message>
    <message>
        <source>%1 could not be opened.</source>
        <translation>无法打开 %1。</translation>
    </message>
    <message>
        <source>No bundled model</source>
        <translation>没有内置模型</translation>
    </message>
    <message>
        <source>The bundled model (resources/models/uhd-lens-tiny) is not installed.</source>
        <translation>未安装内置模型（resources/models/uhd-lens-tiny）。</translation>
    </message>
    <message>
        <source>About UHD Lens</source>
        <translation>关于 UHD Lens</translation>
    </message>
    <message>
        <source>&lt;b&gt;UHD Lens %1&lt;/b&gt;&lt;br&gt;Ask questions about images of any size. The image is cut into slices at native resolution (LLaVA-UHD), and you see every slice, what the model sees, and what it costs.</source>
        <translation>&lt;b&gt;UHD Lens %1&lt;/b&gt;&lt;br&gt;就任意尺寸的图像提问。图像按原始分辨率被切成若干切片（LLaVA-UHD），你可以看到每个切片、模型看到的内容以及其代价。</translation>
    </message>
    <message>
        <source>%1 — UHD Lens</source>
        <translation>%1 — UHD Lens</translation>
    </message>
    <message>
        <source>UHD Lens</source>
        <translation>UHD Lens</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>Open &amp;Recent</source>
        <translation>最近打开(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>&amp;Model</source>
        <translation>模型(&amp;M)</translation>
    </message>
    <message>
        <source>&amp;Chat</source>
        <translation>对话(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Settings</source>
        <translation>设置(&amp;S)</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>语言(&amp;L)</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>Toolbar</source>
        <translation>工具栏</translation>
    </message>
    <message>
        <source>&amp;Open Images…</source>
        <translation>打开图像(&amp;O)…</translation>
    </message>
    <message>
        <source>Open image files (Ctrl+O)</source>
        <translation>打开图像文件（Ctrl+O）</translation>
    </message>
    <message>
        <source>&amp;Paste Image</source>
        <translation>粘贴图像(&amp;P)</translation>
    </message>
    <message>
        <source>Paste an image or copied image files (Ctrl+V)</source>
        <translation>粘贴图像或已复制的图像文件（Ctrl+V）</translation>
    </message>
    <message>
        <source>&amp;Capture Screen Region…</source>
        <translation>截取屏幕区域(&amp;C)…</translation>
    </message>
    <message>
        <source>Grab a rectangle of the screen (X11 only) (Ctrl+Shift+X)</source>
        <translation>截取屏幕上的一个矩形区域（仅限 X11）（Ctrl+Shift+X）</translation>
    </message>
    <message>
        <source>Close &amp;Image</source>
        <translation>关闭图像(&amp;I)</translation>
    </message>
    <message>
        <source>Export Conversation as &amp;Markdown…</source>
        <translation>将对话导出为 &amp;Markdown…</translation>
    </message>
    <message>
        <source>Export Conversation as &amp;JSON…</source>
        <translation>将对话导出为 &amp;JSON…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>Zoom &amp;In</source>
        <translation>放大(&amp;I)</translation>
    </message>
    <message>
        <source>Zoom &amp;Out</source>
        <translation>缩小(&amp;O)</translation>
    </message>
    <message>
        <source>&amp;Fit</source>
        <translation>适合窗口(&amp;F)</translation>
    </message>
    <message>
        <source>Fit the image in the window (Ctrl+0)</source>
        <translation>使图像适合窗口（Ctrl+0）</translation>
    </message>
    <message>
        <source>&amp;1:1</source>
        <translation>&amp;1:1</translation>
    </message>
    <message>
        <source>One image pixel per screen pixel (Ctrl+1)</source>
        <translation>每个图像像素对应一个屏幕像素（Ctrl+1）</translation>
    </message>
    <message>
        <source>Show Slice &amp;Grid</source>
        <translation>显示切片网格(&amp;G)</translation>
    </message>
    <message>
        <source>Select &amp;Region</source>
        <translation>选择区域(&amp;R)</translation>
    </message>
    <message>
        <source>Drag a rectangle to plan and ask about that part only, at the full slice budget (R)</source>
        <translation>拖出一个矩形，仅对该部分以完整的切片预算规划并提问（R）</translation>
    </message>
    <message>
        <source>Whole Image</source>
        <translation>整张图像</translation>
    </message>
    <message>
        <source>Forget the selected region (Shift+R)</source>
        <translation>取消所选区域（Shift+R）</translation>
    </message>
    <message>
        <source>&amp;Next Image</source>
        <translation>下一张图像(&amp;N)</translation>
    </message>
    <message>
        <source>&amp;Previous Image</source>
        <translation>上一张图像(&amp;P)</translation>
    </message>
    <message>
        <source>Open Model &amp;Folder…</source>
        <translation>打开模型文件夹(&amp;F)…</translation>
    </message>
    <message>
        <source>Load a model folder (config.json, *.safetensors, tokenizer.model or tokenizer.json) (Ctrl+M)</source>
        <translation>加载模型文件夹（config.json、*.safetensors、tokenizer.model 或 tokenizer.json）（Ctrl+M）</translation>
    </message>
    <message>
        <source>Use &amp;Bundled Model</source>
        <translation>使用内置模型(&amp;B)</translation>
    </message>
    <message>
        <source>&amp;Unload Model</source>
        <translation>卸载模型(&amp;U)</translation>
    </message>
    <message>
        <source>&amp;Preferences…</source>
        <translation>首选项(&amp;P)…</translation>
    </message>
    <message>
        <source>&amp;About UHD Lens</source>
        <translation>关于 UHD Lens(&amp;A)</translation>
    </message>
    <message>
        <source>Clear Recent Files</source>
        <translation>清除最近文件</translation>
    </message>
    <message>
        <source>Focus &amp;Question Box</source>
        <translation>聚焦到提问框(&amp;Q)</translation>
    </message>
    <message>
        <source>Images</source>
        <translation>图像</translation>
    </message>
    <message>
        <source>Plan</source>
        <translation>切片方案</translation>
    </message>
    <message>
        <source>Chat</source>
        <translation>对话</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>%1×%2 px</source>
        <translation>%1×%2 像素</translation>
    </message>
    <message>
        <source>zoom %1%</source>
        <translation>缩放 %1%</translation>
    </message>
    <message>
        <source>loading model…</source>
        <translation>正在加载模型…</translation>
    </message>
    <message>
        <source>model: %1</source>
        <translation>模型：%1</translation>
    </message>
    <message>
        <source>no model loaded</source>
        <translation>未加载模型</translation>
    </message>
    <message numerus="yes">
        <source>Decoding %n image(s)…</source>
        <translation>
            <numerusform>正在解码 %n 张图像…</numerusform>
        </translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>The translation for %1 could not be loaded.</source>
        <translation>无法加载 %1 的翻译。</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
    <message>
        <source>Opened %1</source>
        <translation>已打开 %1</translation>
    </message>
    <message>
        <source>Pasted image %1</source>
        <translation>粘贴的图像 %1</translation>
    </message>
    <message>
        <source>UHD Lens does not download images from web addresses. Save the image first, or drag the picture itself instead of its link.</source>
        <translation>UHD Lens 不会从网址下载图像。请先保存图像，或直接拖动图片本身而不是它的链接。</translation>
    </message>
    <message>
        <source>The clipboard holds no image or image file.</source>
        <translation>剪贴板中没有图像或图像文件。</translation>
    </message>
    <message>
        <source>Screen capture</source>
        <translation>屏幕截取</translation>
    </message>
    <message>
        <source>Screen capture %1</source>
        <translation>屏幕截图 %1</translation>
    </message>
    <message>
        <source>Open Images</source>
        <translation>打开图像</translation>
    </message>
    <message>
        <source>Images (%1)</source>
        <translation>图像 (%1)</translation>
    </message>
    <message>
        <source>PNG (*.png)</source>
        <translation>PNG 图像 (*.png)</translation>
    </message>
    <message>
        <source>JPEG (*.jpg *.jpeg)</source>
        <translation>JPEG 图像 (*.jpg *.jpeg)</translation>
    </message>
    <message>
        <source>WebP (*.webp)</source>
        <translation>WebP 图像 (*.webp)</translation>
    </message>
    <message>
        <source>TIFF (*.tif *.tiff)</source>
        <translation>TIFF 图像 (*.tif *.tiff)</translation>
    </message>
    <message>
        <source>All files (*)</source>
        <translation>所有文件 (*)</translation>
    </message>
    <message>
        <source>Region %1×%2 selected: questions are now about this part, planned at the full slice budget.</source>
        <translation>已选择 %1×%2 的区域：问题现在只针对这一部分，并以完整的切片预算规划。</translation>
    </message>
    <message>
        <source>Open Model Folder</source>
        <translation>打开模型文件夹</translation>
    </message>
    <message>
        <source>Model %1 loaded.</source>
        <translation>模型 %1 已加载。</translation>
    </message>
    <message>
        <source>Cannot load model</source>
        <translation>无法加载模型</translation>
    </message>
    <message>
        <source>%1 is not a model UHD Lens can load.</source>
        <translation>%1 不是 UHD Lens 能加载的模型。</translation>
    </message>
    <message>
        <source>Export Conversation as JSON</source>
        <translation>将对话导出为 JSON</translation>
    </message>
    <message>
        <source>Export Conversation as Markdown</source>
        <translation>将对话导出为 Markdown</translation>
    </message>
    <message>
        <source>JSON (*.json)</source>
        <translation>JSON 文件 (*.json)</translation>
    </message>
    <message>
        <source>Markdown (*.md)</source>
        <translation>Markdown 文件 (*.md)</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>已保存 %1</translation>
    </message>
    <message>
        <source>Export failed</source>
        <translation>导出失败</translation>
    </message>
    <message>
        <source>Preferences</source>
        <translation>首选项</translation>
    </message>
    <message>
        <source>A generation setting is out of range: %1</source>
        <translation>某项生成设置超出范围：%1</translation>
    </message>
    <message>
        <source>Conversion failed</source>
        <translation>转换失败</translation>
    </message>
    <message>
        <source>The weights of %1 could not be converted.</source>
        <translation>无法转换 %1 的权重。</translation>
    </message>
    <message>
        <source>Convert pickle weights?</source>
        <translation>转换 pickle 权重？</translation>
    </message>
    <message>
        <source>This folder keeps weights in a pickle file; convert them to safetensors?</source>
        <translation>此文件夹的权重保存在 pickle 文件中；要将其转换为 safetensors 吗？</translation>
    </message>
    <message>
        <source>%1 is a PyTorch pickle file. UHD Lens never loads pickle files directly, because loading one can run code. It can convert the weights with a reader that accepts plain tensors only, into a new folder:
%2
The original folder is not changed.</source>
        <translation>%1 是 PyTorch pickle 文件。UHD Lens 从不直接加载 pickle 文件，因为加载它可能会执行代码。UHD Lens 可以用只接受普通张量的读取器将权重转换到新文件夹：
%2
原文件夹不会被修改。</translation>
    </message>
    <message>
        <source>Converting the weights of %1 into %2…</source>
        <translation>正在将 %1 的权重转换到 %2…</translation>
    </message>
    <message>
        <source>Converted weights written to %1; loading it.</source>
        <translation>转换后的权重已写入 %1，正在加载。</translation>
    </message>
    <message>
        <source>Converted: %1</source>
        <translation>已转换：%1</translation>
    </message>
    <message>
        <source>Open &amp;GGUF Model File…</source>
        <translation>打开 GGUF 模型文件(&amp;G)…</translation>
    </message>
    <message>
        <source>Load a GGUF model: the language-model file (its mmproj file is found beside it, or asked for) or an mmproj file (Ctrl+Alt+M)</source>
        <translation>加载 GGUF 模型：选择语言模型文件（在同一文件夹中查找它的 mmproj 文件，找不到时会询问）或 mmproj 文件 (Ctrl+Alt+M)</translation>
    </message>
    <message>
        <source>GGUF files (*.gguf)</source>
        <translation>GGUF 文件 (*.gguf)</translation>
    </message>
    <message>
        <source>Open GGUF Model File</source>
        <translation>打开 GGUF 模型文件</translation>
    </message>
    <message>
        <source>Choose the mmproj (vision projector) file for %1</source>
        <translation>为 %1 选择 mmproj（视觉投影器）文件</translation>
    </message>
    <message>
        <source>%1 is not a GGUF model UHD Lens can load.</source>
        <translation>%1 不是 UHD Lens 能加载的 GGUF 模型。</translation>
    </message>
    <message>
        <source>&amp;Batch…</source>
        <translation>批处理(&amp;B)…</translation>
    </message>
    <message>
        <source>Ask one question (or transcribe) about every image in folders and files, into a JSON lines, CSV or Markdown file (Ctrl+Shift+B)</source>
        <translation>对文件夹和文件中的每张图像提出同一个问题（或转录），结果写入 JSON lines、CSV 或 Markdown 文件（Ctrl+Shift+B）</translation>
    </message>
    <message>
        <source>Open Image…</source>
        <translation>打开图像…</translation>
    </message>
    <message>
        <source>Show &amp;Text Layer</source>
        <translation>显示文字层(&amp;T)</translation>
    </message>
    <message>
        <source>Draw the boxes of the words recognised in the image; hover one to read it (T)</source>
        <translation>在图像上绘制识别出的单词框；悬停可查看单词 (T)</translation>
    </message>
    <message>
        <source>Copy All Te&amp;xt</source>
        <translation>复制全部文字(&amp;X)</translation>
    </message>
    <message>
        <source>Copy the text recognised in the image, in reading order (Ctrl+Shift+T)</source>
        <translation>按阅读顺序复制图像中识别出的文字 (Ctrl+Shift+T)</translation>
    </message>
    <message>
        <source>Cancel Text Recognition</source>
        <translation>取消文字识别</translation>
    </message>
    <message>
        <source>Stop reading the image&apos;s text (Shift+Esc)</source>
        <translation>停止识别图像中的文字 (Shift+Esc)</translation>
    </message>
    <message>
        <source>Give the Model the Image&apos;s &amp;Text</source>
        <translation>把图像中的文字提供给模型(&amp;T)</translation>
    </message>
    <message>
        <source>Put the text recognised in the image (lines in reading order, with their positions) before each question. On by default for the bundled model, off for other models.</source>
        <translation>在每个问题之前附上图像中识别出的文字（按阅读顺序排列的各行及其位置）。内置模型默认开启，其他模型默认关闭。</translation>
    </message>
    <message numerus="yes">
        <source>Reading the image&apos;s text… %1 of %n tile(s)</source>
        <translation>
            <numerusform>正在识别图像中的文字… 第 %1 块，共 %n 块</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Text layer (%1): %n word(s)</source>
        <translation>
            <numerusform>文字层（%1）：%n 个单词</numerusform>
        </translation>
    </message>
    <message>
        <source>Text recognition failed</source>
        <translation>文字识别失败</translation>
    </message>
    <message>
        <source>Text recognition cancelled.</source>
        <translation>文字识别已取消。</translation>
    </message>
    <message>
        <source>No text was found in this image.</source>
        <translation>此图像中未找到文字。</translation>
    </message>
    <message numerus="yes">
        <source>Copied %n line(s) of text.</source>
        <translation>
            <numerusform>已复制 %n 行文字。</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::ModelPanel</name>
    <message>
        <source>Model:</source>
        <translation>模型：</translation>
    </message>
    <message>
        <source>Family:</source>
        <translation>系列：</translation>
    </message>
    <message>
        <source>Size:</source>
        <translation>大小：</translation>
    </message>
    <message>
        <source>Precision:</source>
        <translation>精度：</translation>
    </message>
    <message>
        <source>Device:</source>
        <translation>设备：</translation>
    </message>
    <message>
        <source>Context:</source>
        <translation>上下文：</translation>
    </message>
    <message>
        <source>Folder:</source>
        <translation>文件夹：</translation>
    </message>
    <message>
        <source>Open Model Folder…</source>
        <translation>打开模型文件夹…</translation>
    </message>
    <message>
        <source>Use Bundled Model</source>
        <translation>使用内置模型</translation>
    </message>
    <message>
        <source>No model is loaded. The slice plan works without one.</source>
        <translation>尚未加载模型。切片方案无需模型即可查看。</translation>
    </message>
    <message>
        <source>Loading %1…</source>
        <translation>正在加载 %1…</translation>
    </message>
    <message>
        <source>Ready.</source>
        <translation>就绪。</translation>
    </message>
    <message>
        <source>Could not load the model:</source>
        <translation>无法加载模型：</translation>
    </message>
    <message>
        <source>%1 B parameters</source>
        <translation>%1 B 参数</translation>
    </message>
    <message>
        <source>%1 M parameters</source>
        <translation>%1 M 参数</translation>
    </message>
    <message>
        <source>%1 parameters</source>
        <translation>%1 个参数</translation>
    </message>
    <message>
        <source>%1 tokens</source>
        <translation>%1 个 token</translation>
    </message>
    <message>
        <source>mixed (bf16 weights, f32 arithmetic)</source>
        <translation>混合（bf16 权重，f32 运算）</translation>
    </message>
    <message>
        <source>Settings and where they came from:</source>
        <translation>设置及其来源：</translation>
    </message>
    <message>
        <source>Slice size</source>
        <translation>切片尺寸</translation>
    </message>
    <message>
        <source>Max slices</source>
        <translation>最大切片数</translation>
    </message>
    <message>
        <source>Patch</source>
        <translation>图块</translation>
    </message>
    <message>
        <source>Slicing</source>
        <translation>切片</translation>
    </message>
    <message>
        <source>Pixel normalisation</source>
        <translation>像素归一化</translation>
    </message>
    <message>
        <source>Stop token ids</source>
        <translation>停止词元 ID</translation>
    </message>
    <message>
        <source>Added tokens</source>
        <translation>附加词元</translation>
    </message>
    <message>
        <source>Tokens the prompt is split on</source>
        <translation>提示词按其切分的词元</translation>
    </message>
    <message>
        <source>the family&apos;s default</source>
        <translation>该模型系列的默认值</translation>
    </message>
    <message>
        <source>Weights:</source>
        <translation>权重：</translation>
    </message>
    <message>
        <source>Language-model tensor types</source>
        <translation>语言模型张量类型</translation>
    </message>
    <message>
        <source>Vision-projector tensor types</source>
        <translation>视觉投影器张量类型</translation>
    </message>
    <message>
        <source>language model: %1</source>
        <translation>语言模型：%1</translation>
    </message>
    <message>
        <source>vision projector: %1</source>
        <translation>视觉投影器：%1</translation>
    </message>
    <message>
        <source>The language model uses %1, a 4-bit-or-lower quantization; it may misread small text. Q8_0 (or at least Q4_K_M) reads better.</source>
        <translation>语言模型使用 %1，这是 4 位或更低的量化；它可能读错小字。Q8_0（或至少 Q4_K_M）的识读效果更好。</translation>
    </message>
    <message>
        <source>The vision projector uses %1; it is usually kept at F16, and below that small text may be misread.</source>
        <translation>视觉投影器使用 %1；它通常保持为 F16，低于此精度时可能读错小字。</translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::PlanPanel</name>
    <message>
        <source>Slicing</source>
        <translation>切片</translation>
    </message>
    <message>
        <source>&amp;Policy:</source>
        <translation>策略(&amp;P)：</translation>
    </message>
    <message>
        <source>MiniCPM-V (%1 px slices, up to %2)</source>
        <translation>MiniCPM-V（%1 像素切片，最多 %2 个）</translation>
    </message>
    <message>
        <source>LLaVA-UHD (%1 px slices, up to %2)</source>
        <translation>LLaVA-UHD（%1 像素切片，最多 %2 个）</translation>
    </message>
    <message>
        <source>LLaVA-1.5 baseline (one %1 px view)</source>
        <translation>LLaVA-1.5 基线（单个 %1 像素视图）</translation>
    </message>
    <message>
        <source>How the image is cut into slices before the vision encoder sees it.</source>
        <translation>图像在送入视觉编码器之前如何被切成切片。</translation>
    </message>
    <message>
        <source>&amp;Max slices:</source>
        <translation>最大切片数(&amp;M)：</translation>
    </message>
    <message>
        <source>The most slices the planner may use; the plan updates as you move it.</source>
        <translation>规划器最多可使用的切片数；拖动时方案会实时更新。</translation>
    </message>
    <message>
        <source>Cost and legibility</source>
        <translation>代价与可读性</translation>
    </message>
    <message>
        <source>What the model sees</source>
        <translation>模型看到的内容</translation>
    </message>
    <message>
        <source>Open an image to see its plan.</source>
        <translation>打开一张图像以查看其切片方案。</translation>
    </message>
    <message>
        <source>Hover over a slice to see it at model input resolution.</source>
        <translation>将鼠标悬停在切片上，即可按模型输入分辨率查看。</translation>
    </message>
    <message>
        <source>Overview</source>
        <translation>概览图</translation>
    </message>
    <message>
        <source>Slice %1 of %2</source>
        <translation>第 %1 个切片，共 %2 个</translation>
    </message>
    <message>
        <source>%1: %2×%3 pixels, %4×%5 patches of %6 px (nearest-neighbour zoom)</source>
        <translation>%1：%2×%3 像素，%4×%5 个 %6 像素的图块（最近邻缩放）</translation>
    </message>
    <message>
        <source>No image.</source>
        <translation>没有图像。</translation>
    </message>
    <message>
        <source>%1 × %2 slices of %3×%4 + overview %5×%6 (image %7×%8)</source>
        <translation>%1 × %2 个 %3×%4 的切片 + %5×%6 的概览图（图像 %7×%8）</translation>
    </message>
    <message>
        <source>Not sliced: one view of %1×%2 (image %3×%4)</source>
        <translation>未切片：单个 %1×%2 的视图（图像 %3×%4）</translation>
    </message>
    <message>
        <source>Visual tokens: &lt;b&gt;%1&lt;/b&gt; for this plan · %2 for LLaVA-1.5 (one squashed 336×336 view)</source>
        <translation>视觉 token：本方案 &lt;b&gt;%1&lt;/b&gt; 个 · LLaVA-1.5 为 %2 个（单个压扁的 336×336 视图）</translation>
    </message>
    <message>
        <source>%1% of the model&apos;s %2-token context</source>
        <translation>占模型 %2 token 上下文的 %1%</translation>
    </message>
    <message>
        <source>Load a model to see the share of its context.</source>
        <translation>加载模型后可查看其占上下文的比例。</translation>
    </message>
    <message>
        <source>Compute: 1.00× LLaVA-1.5 (this is the baseline)</source>
        <translation>计算量：1.00× LLaVA-1.5（这就是基线）</translation>
    </message>
    <message>
        <source>Compute: %1× LLaVA-1.5-13B (%2 architecture, vision + prefill)</source>
        <translation>计算量：%1× LLaVA-1.5-13B（%2 架构，视觉编码 + 预填充）</translation>
    </message>
    <message>
        <source>MiniCPM-V 2.0</source>
        <translation>MiniCPM-V 2.0</translation>
    </message>
    <message>
        <source>LLaVA-UHD 13B</source>
        <translation>LLaVA-UHD 13B</translation>
    </message>
    <message>
        <source>Downscale: %1× (the encoder gets one pixel for every %1 pixels of the image)</source>
        <translation>缩小倍数：%1×（图像每 %1 个像素，编码器只得到 1 个像素）</translation>
    </message>
    <message>
        <source>Text smaller than ~%1 px will be unreadable; allow more slices or select a region.</source>
        <translation>小于约 %1 像素的文字将无法辨认；请允许更多切片或选择一个区域。</translation>
    </message>
    <message>
        <source>Not downscaled: the encoder sees every pixel (upscale %1×).</source>
        <translation>未缩小：编码器能看到每个像素（放大 %1×）。</translation>
    </message>
    <message>
        <source>Text of ~%1 px and larger should be readable.</source>
        <translation>约 %1 像素及以上的文字应可辨认。</translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::RegionGrabber</name>
    <message>
        <source>Screen capture is not available on Wayland: the compositor does not let applications read the screen. Take a screenshot with your desktop&apos;s tool and paste it here with Ctrl+V.</source>
        <translation>Wayland 下无法截取屏幕：合成器不允许应用程序读取屏幕。请用桌面自带的工具截图，然后按 Ctrl+V 粘贴到这里。</translation>
    </message>
    <message>
        <source>Screen capture is not available on this platform (%1). Take a screenshot with another tool and paste it here with Ctrl+V.</source>
        <translation>此平台（%1）不支持屏幕截取。请用其他工具截图，然后按 Ctrl+V 粘贴到这里。</translation>
    </message>
    <message>
        <source>The screen could not be grabbed.</source>
        <translation>无法截取屏幕。</translation>
    </message>
    <message>
        <source>Drag a rectangle to capture; Esc cancels</source>
        <translation>拖出一个矩形进行截取；按 Esc 取消</translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::Session</name>
    <message>
        <source>Converting weights: %1 (%2%)</source>
        <translation>正在转换权重：%1（%2%）</translation>
    </message>
    <message>
        <source>Loading model: %1 (%2%)</source>
        <translation>正在加载模型：%1（%2%）</translation>
    </message>
    <message>
        <source>Loading model…</source>
        <translation>正在加载模型…</translation>
    </message>
    <message>
        <source>Converting weights…</source>
        <translation>正在转换权重…</translation>
    </message>
    <message>
        <source>Waiting for the model to load…</source>
        <translation>正在等待模型加载…</translation>
    </message>
    <message>
        <source>Preparing the image…</source>
        <translation>正在准备图像…</translation>
    </message>
    <message>
        <source>Stopping…</source>
        <translation>正在停止…</translation>
    </message>
    <message>
        <source>baseline view %1/%2</source>
        <translation>基线视图 %1/%2</translation>
    </message>
    <message>
        <source>slice %1/%2</source>
        <translation>切片 %1/%2</translation>
    </message>
    <message>
        <source>Encoding %1 · %2 ms · ETA %3 s</source>
        <translation>正在编码 %1 · %2 毫秒 · 预计还需 %3 秒</translation>
    </message>
    <message numerus="yes">
        <source>Answering… %n token(s)</source>
        <translation>
            <numerusform>正在回答… %n 个 token</numerusform>
        </translation>
    </message>
    <message>
        <source>No image is open.</source>
        <translation>没有打开的图像。</translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::SettingsDialog</name>
    <message>
        <source>Preferences</source>
        <translation>首选项</translation>
    </message>
    <message>
        <source>Max new tokens:</source>
        <translation>最大生成 token 数：</translation>
    </message>
    <message>
        <source>Temperature (0 = greedy):</source>
        <translation>温度（0 = 贪心）：</translation>
    </message>
    <message>
        <source>Top-k (0 = off):</source>
        <translation>Top-k（0 = 关闭）：</translation>
    </message>
    <message>
        <source>Top-p (1 = off):</source>
        <translation>Top-p（1 = 关闭）：</translation>
    </message>
    <message>
        <source>Repetition penalty:</source>
        <translation>重复惩罚：</translation>
    </message>
    <message>
        <source>Seed:</source>
        <translation>随机种子：</translation>
    </message>
    <message>
        <source>Stop strings (separated by |):</source>
        <translation>停止字符串（用 | 分隔）：</translation>
    </message>
    <message>
        <source>Device:</source>
        <translation>设备：</translation>
    </message>
    <message>
        <source>Precision:</source>
        <translation>精度：</translation>
    </message>
    <message>
        <source>Language:</source>
        <translation>语言：</translation>
    </message>
    <message>
        <source>Device and precision apply the next time a model is loaded.</source>
        <translation>设备和精度将在下次加载模型时生效。</translation>
    </message>
    <message>
        <source>Show answers as plain text</source>
        <translation>以纯文本显示回答</translation>
    </message>
    <message>
        <source>Show answers as the model wrote them instead of rendering their Markdown (tables, code blocks, lists)</source>
        <translation>按模型的原样显示回答，不渲染其中的 Markdown（表格、代码块、列表）</translation>
    </message>
    <message>
        <source>Thinking mode (MiniCPM-V 4.5)</source>
        <translation>思考模式（MiniCPM-V 4.5）</translation>
    </message>
    <message>
        <source>The model reasons before it answers, and the answer shows the reasoning first. Slower; only models with a thinking switch use it, the others ignore it.</source>
        <translation>模型先推理再回答，回答会先显示推理过程。速度较慢；只有带思考开关的模型会使用它，其他模型会忽略。</translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::SliceCanvas</name>
    <message>
        <source>Image and slice plan</source>
        <translation>图像与切片方案</translation>
    </message>
    <message>
        <source>Drop images here, paste one with Ctrl+V, or open one with Ctrl+O.
UHD Lens shows how the model cuts each image into slices, what every slice looks like to the model, and what it costs in tokens.</source>
        <translation>将图像拖放到这里，按 Ctrl+V 粘贴，或按 Ctrl+O 打开。
UHD Lens 会显示模型如何把每张图像切成切片、每个切片在模型眼中的样子，以及它消耗多少 token。</translation>
    </message>
    <message>
        <source>#%1 · %2×%3 · %4×%5 patches</source>
        <translation>#%1 · %2×%3 · %4×%5 个图块</translation>
    </message>
    <message>
        <source>one view %1×%2 (padded to a square)</source>
        <translation>单个视图 %1×%2（补齐为正方形）</translation>
    </message>
    <message>
        <source>one view %1×%2</source>
        <translation>单个视图 %1×%2</translation>
    </message>
    <message>
        <source>overview %1×%2</source>
        <translation>概览图 %1×%2</translation>
    </message>
    <message>
        <source>%1
confidence %2%</source>
        <translation>%1
置信度 %2%</translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::TranscriptionPopup</name>
    <message>
        <source>UHD Lens — Transcribe</source>
        <translation>UHD Lens — 转录</translation>
    </message>
    <message>
        <source>Open in UHD Lens</source>
        <translation>在 UHD Lens 中打开</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>End the transcription here and copy the text so far</source>
        <translation>在此结束转录，并复制目前已有的文字</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message numerus="yes">
        <source>Copied %n character(s) to the clipboard.</source>
        <translation>
            <numerusform>已将 %n 个字符复制到剪贴板。</numerusform>
        </translation>
    </message>
    <message>
        <source>The model found no text.</source>
        <translation>模型未找到文字。</translation>
    </message>
</context>
</TS>
